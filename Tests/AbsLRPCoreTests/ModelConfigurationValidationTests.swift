import XCTest
@testable import AbsLRPCore

/// Configuration files are input: every value of the wrong type, out of
/// range or absurd is refused with the key and the value as written, unknown
/// keys are named, and a model too large for the memory limit is refused
/// before anything is allocated.
final class ModelConfigurationValidationTests: XCTestCase {
    /// A family and its `model_args`, each value as JSON text.
    private typealias Template = (family: String, arguments: [(String, String)])
    private static let vit: Template = ("vision_transformer", [("img_size", "32"), ("patch_size", "8"), ("embed_dim", "48"),
                                                               ("depth", "2"), ("num_heads", "3"), ("num_classes", "10")])
    private static let resnet: Template = ("resnet", [("block", #""basic""#), ("layers", "[1, 1, 1, 1]"),
                                                      ("channels", "[4, 8, 8, 8]"), ("num_classes", "10")])
    private static let vgg: Template = ("vgg", [("cfg", #"[4, "M", 8, "M"]"#), ("mlp_ratio", "0.001"), ("num_classes", "10")])

    /// The template's file with `extra` (`"key": value, ...` as JSON text) replacing or adding keys.
    private func configuration(_ template: Template, _ extra: String, memoryLimit: Int = 1 << 40) throws -> ModelConfiguration {
        let overridden = Set(extra.split(separator: ",").compactMap { part -> String? in
            let key = part.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) ?? ""
            return key.hasPrefix("\"") ? String(key.dropFirst().dropLast()) : nil
        })
        let kept = template.arguments.filter { !overridden.contains($0.0) }.map { "\"\($0.0)\": \($0.1)" }
        let arguments = (kept + (extra.isEmpty ? [] : [extra])).joined(separator: ", ")
        let text = #"{"architecture": "\#(template.family)", "model_args": {\#(arguments)}}"#
        return try ModelConfiguration(data: Data(text.utf8), name: "test", memoryLimit: memoryLimit)
    }

    /// `extra` overrides a key; the error must name `key` and quote `quoted`.
    private func assertRefused(_ template: Template, _ extra: String, key: String, quoted: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try configuration(template, extra), extra, file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(error is ModelConfigurationError, "\(extra): \(type(of: error)) \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(key), "\(extra): '\(text)' does not name \(key)", file: file, line: line)
            XCTAssertTrue(text.contains(quoted), "\(extra): '\(text)' does not quote \(quoted)", file: file, line: line)
        }
    }

    func testTheTemplatesAreValid() throws {
        for template in [Self.vit, Self.resnet, Self.vgg] { XCTAssertNoThrow(try configuration(template, "")) }
    }

    func testNonPositiveNonIntegralAndAbsurdNumbersAreRefusedQuotingTheFile() {
        let cases: [(String, String, String)] = [
            (#""depth": 1e300"#, "model_args.depth", "1e+300"),
            (#""depth": 1e19"#, "model_args.depth", "1e+19"),
            (#""depth": 0"#, "model_args.depth", "0"),
            (#""depth": -2"#, "model_args.depth", "-2"),
            (#""depth": 2.5"#, "model_args.depth", "2.5"),
            (#""embed_dim": 1e-30"#, "model_args.embed_dim", "1e-30"),
            (#""mlp_ratio": 1e300"#, "model_args.mlp_ratio", "1e+300"),
            (#""mlp_ratio": -4"#, "model_args.mlp_ratio", "-4"),
            (#""mlp_ratio": 0"#, "model_args.mlp_ratio", "0"),
            (#""img_size": 1e19"#, "model_args.img_size", "1e+19"),
            (#""num_heads": -3"#, "model_args.num_heads", "-3"),
            (#""in_chans": 0"#, "model_args.in_chans", "0"),
        ]
        for (extra, key, quoted) in cases { assertRefused(Self.vit, extra, key: key, quoted: quoted) }
        assertRefused(Self.vit, #""num_classes": 1e300"#, key: "model_args.num_classes", quoted: "1e+300")
        assertRefused(Self.resnet, #""layers": [1, 1e19, 1, 1]"#, key: "model_args.layers", quoted: "[1, 1e+19, 1, 1]")
        assertRefused(Self.resnet, #""channels": [4, 8, -8, 8]"#, key: "model_args.channels", quoted: "[4, 8, -8, 8]")
        assertRefused(Self.vgg, #""cfg": [4, "M", 1e300, "M"]"#, key: "model_args.cfg", quoted: "1e+300")
        assertRefused(Self.vgg, #""mlp_ratio": 1e-30"#, key: "model_args.mlp_ratio", quoted: "1e-30")
    }

    func testWrongTypesAreRefusedNotIgnored() {
        assertRefused(Self.vit, #""depth": "2""#, key: "model_args.depth", quoted: #""2""#)
        assertRefused(Self.vit, #""depth": true"#, key: "model_args.depth", quoted: "true")
        assertRefused(Self.vit, #""qkv_bias": 1"#, key: "qkv_bias", quoted: "1")
        assertRefused(Self.vit, #""img_size": [32, 32, 32]"#, key: "model_args.img_size", quoted: "[32, 32, 32]")
        assertRefused(Self.resnet, #""layers": "1,1,1,1""#, key: "model_args.layers", quoted: #""1,1,1,1""#)
        for (document, key, quoted) in [
            (#"{"architecture": 5}"#, "architecture", "5"),
            (#"{"architecture": "resnet18", "num_classes": "ten"}"#, "num_classes", #""ten""#),
            (#"{"architecture": "resnet18", "num_classes": 1e300}"#, "num_classes", "1e+300"),
            (#"{"architecture": "resnet18", "model_args": [1]}"#, "model_args", "[1]"),
            (#"{"architecture": "resnet18", "pretrained_cfg": {"input_size": "224"}}"#, "pretrained_cfg.input_size", #""224""#),
            (#"{"architecture": "resnet18", "input_size": [3, 1e19, 224]}"#, "input_size", "1e+19"),
            (#"{"architecture": "resnet18", "mean": [0.5, "x", 0.5]}"#, "mean", #""x""#),
            (#"{"architecture": "resnet18", "crop_pct": 1e300}"#, "crop_pct", "1e+300"),
            (#"{"architecture": "resnet18", "num_features": 7}"#, "num_features", "7"),
        ] {
            XCTAssertThrowsError(try ModelConfiguration(data: Data(document.utf8), name: "x"), document) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(key) && text.contains(quoted), "\(document): \(text)")
            }
        }
    }

    func testUnknownKeysAreNamedAndTimmsOtherBlocksRefused() {
        assertRefused(Self.vit, #""depht": 2"#, key: "model_args.depht", quoted: "2")
        assertRefused(Self.resnet, #""block": "BasicBlockBlock""#, key: "model_args.block", quoted: #""BasicBlockBlock""#)
        assertRefused(Self.resnet, #""block": ["BasicBlock", "Bottleneck"]"#, key: "block", quoted: "2 block types for 4 stages")
        assertRefused(Self.resnet, #""block": ["BasicBlock", "Bottle", "BasicBlock", "BasicBlock"]"#,
                      key: "model_args.block", quoted: "Bottle")
        XCTAssertNoThrow(try configuration(Self.resnet, #""block": ["BasicBlock", "BasicBlock", "Bottleneck", "BasicBlock"]"#))
        assertRefused(Self.resnet, #""block_args": {"attn_layer": "se"}"#, key: "block_args", quoted: "squeeze-excitation")
        XCTAssertNoThrow(try configuration(Self.resnet, #""block": "BasicBlock""#))
        assertRefused(Self.vit, #""norm_layer": "RmsNorm""#, key: "norm_layer", quoted: "has no bias (it cannot run these)")
        assertRefused(Self.vit, #""mlp_layer": {"partial": "GluMlp", "act_layer": "nn.SiLU"}"#, key: "mlp_layer", quoted: "gated MLPs")
    }

    func testAModelAboveTheMemoryLimitIsRefusedBeforeItIsBuilt() throws {
        // A ViT of width 65536 and depth 1000 would need petabytes.
        XCTAssertThrowsError(try configuration(Self.vit, #""embed_dim": 65536, "num_heads": 16, "depth": 1000"#)) { error in
            guard case .memoryLimit(_, let bytes, _)? = error as? ModelConfigurationError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(bytes, 1 << 40)
            XCTAssertTrue("\(error)".contains("--memory-limit"))
        }
        // The limit is settable: the tiny ViT needs a few MB.
        XCTAssertNoThrow(try configuration(Self.vit, "", memoryLimit: 50_000_000))
        XCTAssertThrowsError(try configuration(Self.vit, "", memoryLimit: 1000))
        XCTAssertThrowsError(try ModelConfiguration(timmName: "vit_large_patch16_224", memoryLimit: 1_000_000_000))
    }

    func testTheMemoryEstimateCoversTheParameters() throws {
        for name in ["vgg16_bn", "resnet50", "resnet18", "vit_base_patch16_224", "vit_small_patch32_224"] {
            let c = try ModelConfiguration(timmName: name)
            let actual = Classifier(configuration: c).network.stateDictShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
            let estimate = c.architecture.memoryEstimate(height: c.inputSize[1], width: c.inputSize[2]).parameters
            XCTAssertEqual(Double(estimate), Double(actual), accuracy: 0.01 * Double(actual), name)
        }
    }

    /// Convolutional networks count the oneDNN scratchpad of each call that
    /// may run at once (`Conv2d.scratchpadBudget` floats, two calls with two
    /// cores or more); ViTs, whose only convolution (16x16 patches) stays on
    /// im2col + sgemm, none.
    func testTheMemoryEstimateCountsTheOneDNNScratchpads() throws {
        for (name, scratch) in [("resnet50", Conv2d.scratchpadBudget), ("vgg16", Conv2d.scratchpadBudget), ("vit_base_patch16_224", 0)] {
            let c = try ModelConfiguration(timmName: name)
            let estimate = c.architecture.memoryEstimate(height: c.inputSize[1], width: c.inputSize[2])
            XCTAssertEqual(estimate.scratchpadPerCall, scratch, name)
            let withoutScratch = MemoryEstimate(parameters: estimate.parameters, activationsPerImage: estimate.activationsPerImage)
            XCTAssertEqual(estimate.bytes(batch: 4) - withoutScratch.bytes(batch: 4), 4 * scratch * min(2, parallelWidth), name)
        }
        XCTAssertEqual(MemoryEstimate.concurrentCalls, min(2, parallelWidth))
    }

    /// timm's anti-aliased ResNets: the 2x2 average pools halve rounding down
    /// where the 1x1/2 shortcuts round up, so only sizes that stay even run
    /// (timm fails on the others in the residual addition); blur pools need
    /// two pixels. The square sizes 1...69 accepted are the ones timm 1.0.11
    /// runs (measured: `ResNet(block=BasicBlock, layers=[1, 1, 1, 1],
    /// channels=[4, 8, 8, 8], aa_layer=...)` on every n x n input), each of
    /// them runs here, and the others are typed errors.
    func testAntiAliasedResNetsTakeTheSizesTimmTakes() throws {
        let average = Classifier(configuration: try configuration(Self.resnet, #""aa_layer": "nn.AvgPool2d""#))
        let blur = Classifier(configuration: try configuration(Self.resnet, #""aa_layer": "BlurPool2d""#))
        let timmRuns = [(average, [31, 32, 33, 34, 63, 64, 65, 66]), (blur, Array(17...69))]
        for (classifier, expected) in timmRuns {
            let accepted = (1...69).filter { (try? classifier.validateInput(Tensor(shape: [1, 3, $0, $0]))) != nil }
            XCTAssertEqual(accepted, expected)
            for n in accepted.prefix(3) { XCTAssertEqual(classifier.logits(Tensor(shape: [1, 3, n, n])).shape, [1, 10], "\(n)x\(n)") }
        }
        XCTAssertNoThrow(try average.validateInput(Tensor(shape: [1, 3, 64, 32])))
        XCTAssertThrowsError(try average.validateInput(Tensor(shape: [1, 3, 48, 64]))) { error in
            // 48: stem 24, pool 12, layer2 6, layer3 3, layer4 1 by the pool but 2 by the shortcut
            XCTAssertTrue(error is ClassifierInputError, "\(error)")
            XCTAssertTrue("\(error)".contains("multiples of 32") && "\(error)".contains("48x64"), "\(error)")
        }
        XCTAssertThrowsError(try blur.validateInput(Tensor(shape: [1, 3, 16, 16]))) { error in
            // 16: stem 8, pool 4, layer2 2, layer3 1, which layer4's blur cannot reflect
            XCTAssertTrue("\(error)".contains("at least 17x17"), "\(error)")
        }
        assertRefused(Self.resnet, #""aa_layer": "blurpc""#, key: "aa_layer", quoted: "blurpc")
        // timm's GroupNorm has 32 groups: the template's widths 4 and 8 do not divide
        assertRefused(Self.resnet, #""norm_layer": "groupnorm""#, key: "norm_layer", quoted: "do not divide 4 channels")
        XCTAssertNoThrow(try configuration(Self.resnet, #""norm_layer": "groupnorm", "channels": [32, 64, 64, 64]"#))
    }

    func testInputsSmallerThanTheNetworkTakesAreTypedErrors() throws {
        let resnet = try configuration(Self.resnet, "")
        let classifier = Classifier(configuration: resnet)
        XCTAssertThrowsError(try classifier.validateInput(Tensor(shape: [1, 3, 0, 8]))) { error in
            XCTAssertTrue(error is ClassifierInputError, "\(error)")
        }
        // The padded stem and stages leave at least one pixel of any non-empty input.
        XCTAssertNoThrow(try classifier.validateInput(Tensor(shape: [1, 3, 1, 1])))
        XCTAssertEqual(classifier.logits(Tensor(shape: [1, 3, 1, 1])).shape, [1, 10])
        let vgg = Classifier(configuration: try configuration(Self.vgg, ""))
        XCTAssertThrowsError(try vgg.validateInput(Tensor(shape: [1, 3, 3, 3]))) { error in
            XCTAssertEqual("\(error)", "model test takes images of at least 4x4, got 3x3")
        }
    }
}

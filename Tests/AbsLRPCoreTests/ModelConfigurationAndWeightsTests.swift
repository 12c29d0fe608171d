import XCTest
@testable import AbsLRPCore
import TestFixtures

/// Model construction from presets and configuration files, and strict weight loading.
final class ModelConfigurationAndWeightsTests: XCTestCase {
    func testPublishedParameterCounts() throws {
        let expectedParameters: [String: Int] = [
            "vgg16": 138_357_544, "vgg11_bn": 132_868_840, "resnet18": 11_689_512, "resnet50": 25_557_032,
            "resnet152": 60_192_808, "vit_base_patch16_224": 86_567_656, "vit_tiny_patch16_224": 5_717_416,
            "vit_base_patch32_224": 88_224_232, "vit_base_patch16_384": 86_859_496, "vit_large_patch16_224": 304_326_632,
        ]
        for (name, expected) in expectedParameters {
            let shapes = Classifier(configuration: try ModelConfiguration(timmName: name)).network.stateDictShapes
            let parameters = shapes.filter { !$0.key.hasSuffix("running_mean") && !$0.key.hasSuffix("running_var") }
                .reduce(0) { $0 + $1.shape.reduce(1, *) }
            XCTAssertEqual(parameters, expected, name)
        }
    }

    func testTimmKeyNames() throws {
        let resnet = Set(Classifier(configuration: try ModelConfiguration(timmName: "resnet50")).network.stateDictShapes.map(\.key))
        for key in ["conv1.weight", "bn1.running_var", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias",
                    "layer4.2.conv3.weight", "layer3.5.bn2.weight", "fc.weight", "fc.bias"] {
            XCTAssertTrue(resnet.contains(key), key)
        }
        let vgg = Set(Classifier(configuration: try ModelConfiguration(timmName: "vgg16_bn")).network.stateDictShapes.map(\.key))
        for key in ["features.0.weight", "features.1.running_mean", "features.41.weight", "pre_logits.fc1.weight",
                    "pre_logits.fc2.bias", "head.fc.weight"] {
            XCTAssertTrue(vgg.contains(key), key)
        }
    }

    func testTimmConfigJSONIsUnderstood() throws {
        let json: [String: Any] = [
            "architecture": "resnet18", "num_classes": 10,
            "pretrained_cfg": ["input_size": [3, 160, 160], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                               "crop_pct": 0.95, "label_names": (0..<10).map { "c\($0)" }],
        ]
        let c = try ModelConfiguration(json: json, name: "x")
        XCTAssertEqual(c.numClasses, 10)
        XCTAssertEqual(c.inputSize, [3, 160, 160])
        XCTAssertEqual(try c.data.statistics().mean, [0.5, 0.5, 0.5])
        XCTAssertEqual(c.data.cropPct, 0.95)
        XCTAssertEqual(c.labelNames?.last, "c9")
        let r = try XCTUnwrap(c.architecture.configuration(as: ResNetConfiguration.self))
        XCTAssertEqual(r.layers, [2, 2, 2, 2])
    }

    func testUnknownArchitectureAndBadArgumentsAreRefused() {
        XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "convnext_tiny"], name: "x")) { error in
            XCTAssertEqual(error as? ModelConfigurationError, .unknownArchitecture("convnext_tiny"))
            XCTAssertTrue("\(error)".contains("abslrp models"))
        }
        XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "resnet", "model_args": ["block": "basic", "layers": [1, 1]]], name: "x"))
        XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "resnet",
            "model_args": ["block": "bottleneck", "layers": [1, 1, 1, 1], "down_kernel_size": 3]], name: "x")) { error in
            guard case .unsupportedOption(let name, _, _) = error as? ModelConfigurationError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "down_kernel_size")
        }
        XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "vgg", "model_args": ["cfg": [8, "X"]]], name: "x"))
        XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "vgg16", "input_size": [1, 224, 224]], name: "x"))
    }

    /// timm's `ResNet` asserts `output_stride in (8, 16, 32)`; anything else is refused by name.
    func testResNetOutputStrideOtherThan8Or16Or32IsRefused() {
        for stride in [4, 12, 64] {
            XCTAssertThrowsError(try ModelConfiguration(json: ["architecture": "resnet",
                "model_args": ["block": "basic", "layers": [1, 1, 1, 1], "output_stride": stride]], name: "x")) { error in
                guard case .invalidValue(let key, let value, _) = error as? ModelConfigurationError else { return XCTFail("\(error)") }
                XCTAssertEqual(key, "model_args.output_stride")
                XCTAssertEqual(value, "\(stride)")
            }
        }
    }

    func testStrictLoadingNamesMissingUnexpectedAndMisshapedKeys() throws {
        let config = try ModelConfiguration(contentsOf: Fixtures.url("reference/resnet_basic_mini.config.json"))
        let file = try SafetensorsFile(contentsOf: Fixtures.url("reference/resnet_basic_mini.weights.safetensors"))
        var dict: [String: Tensor] = [:]
        for n in file.names where !n.hasSuffix("num_batches_tracked") { dict[n] = try file.tensor(n) }
        XCTAssertNoThrow(try Classifier(configuration: config).loadStateDict(dict))

        var missing = dict; missing["fc.bias"] = nil
        var unexpected = dict; unexpected["fc.extra"] = Tensor(shape: [2])
        var misshaped = dict; misshaped["conv1.weight"] = Tensor(shape: [64, 3, 3, 3])
        let cases: [([String: Tensor], WeightLoadError)] = [
            (missing, .missingKey(key: "fc.bias", expected: [10])),
            (unexpected, .unexpectedKey(key: "fc.extra", shape: [2])),
            (misshaped, .shapeMismatch(key: "conv1.weight", expected: [64, 3, 7, 7], actual: [64, 3, 3, 3])),
        ]
        for (stateDict, problem) in cases {
            XCTAssertThrowsError(try Classifier(configuration: config).loadStateDict(stateDict, source: "w.safetensors")) { error in
                XCTAssertEqual(error as? WeightLoadError, .mismatches(file: "w.safetensors", problems: [problem]))
                XCTAssertTrue("\(error)".contains("w.safetensors"))
            }
        }
    }

    func testWeightsOfAnotherArchitectureAreRefusedWithTheKeys() throws {
        let config = try ModelConfiguration(contentsOf: Fixtures.url("reference/vgg_mini.config.json"))
        XCTAssertThrowsError(try Classifier(configuration: config,
                                            weights: Fixtures.url("reference/resnet_basic_mini.weights.safetensors"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing key 'features.0.weight'"), text)
            XCTAssertTrue(text.contains("unexpected key 'bn1.bias'"), text)
        }
    }

    func testHalfPrecisionWeightsLoadAndGiveCloseLogits() throws {
        // Write the vgg_mini weights as F16 and BF16 by rounding, load them, compare to F32 logits.
        let g = try GoldenModel("vgg_mini")
        let x = try g.tensor("input")
        let reference = g.classifier.logits(x)
        let file = try SafetensorsFile(contentsOf: Fixtures.url("reference/vgg_mini.weights.safetensors"))
        for (dtype, bound) in [("F16", Float(2e-2)), ("BF16", Float(1e-1))] {
            let dir = Fixtures.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let url = dir.appendingPathComponent("w.safetensors")
            try writeHalfPrecision(file, dtype: dtype, to: url)
            let c = try Classifier(configuration: g.classifier.configuration, weights: url)
            let logits = c.logits(x)
            let scale = reference.storage.map { abs($0) }.max()!
            XCTAssertLessThan(maxAbsDifference(logits, reference), bound * scale, dtype)
        }
    }

    /// A safetensors file with every float tensor of `file` rounded to F16 or BF16.
    private func writeHalfPrecision(_ file: SafetensorsFile, dtype: String, to url: URL) throws {
        var header: [String: Any] = [:]
        var data = Data()
        for name in file.names where !name.hasSuffix("num_batches_tracked") {
            let t = try file.tensor(name)
            let start = data.count
            for v in t.storage {
                let bits: UInt16 = dtype == "F16" ? Float16(v).bitPattern : UInt16(truncatingIfNeeded: (v.bitPattern &+ 0x8000) >> 16)
                data.append(UInt8(bits & 0xFF)); data.append(UInt8(bits >> 8))
            }
            header[name] = ["dtype": dtype, "shape": t.shape, "data_offsets": [start, data.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json); out.append(data)
        try out.write(to: url)
    }

    func testWrongInputShapesAndTargetsAreClearErrors() throws {
        let g = try GoldenModel("vgg_mini")
        let method = AbsLRP(classifier: g.classifier)
        XCTAssertThrowsError(try method.explain(Tensor(shape: [1, 1, 112, 112]))) { error in
            XCTAssertEqual(error as? ClassifierInputError, .wrongShape(expected: "(B, 3, H, W)", actual: [1, 1, 112, 112]))
        }
        XCTAssertThrowsError(try method.explain(Tensor(shape: [1, 3, 8, 8])))
        let x = try g.tensor("input")
        XCTAssertThrowsError(try method.explain(x, targets: [0, 10])) { error in
            XCTAssertEqual(error as? ClassifierInputError, .targetOutOfRange(target: 10, classes: 10))
        }
        XCTAssertThrowsError(try method.explain(x, targets: [0])) { error in
            XCTAssertEqual(error as? ClassifierInputError, .targetCount(expected: 2, actual: 1))
        }
        // explicit targets are honoured
        let e = try method.explain(x, targets: [3, 4])
        XCTAssertEqual(e.targets, [3, 4])
    }
}

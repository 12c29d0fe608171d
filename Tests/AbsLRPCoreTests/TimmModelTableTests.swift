import XCTest
@testable import AbsLRPCore
import TestFixtures

/// The shipped timm table (scripts/generate_timm_table.py): every supported
/// name builds with timm's state-dict shapes, every refused name says what
/// it lacks, and names with pretrained tags resolve.
final class TimmModelTableTests: XCTestCase {
    func testEverySupportedNameBuildsWithTheStateDictShapesTimmRecorded() throws {
        let table = try TimmModels.shipped()
        var supported: [String: Int] = [:]
        for entry in table.models where table.status(of: entry) == .supported {
            let configuration = try ModelConfiguration(timmName: entry.name, memoryLimit: .max)
            let network = Classifier(configuration: configuration).network, shapes = network.stateDictShapes
            XCTAssertEqual(network.parameterCount, entry.parameters, entry.name)
            XCTAssertEqual(network.bufferCount, entry.buffers, entry.name)
            XCTAssertEqual(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }, entry.parameters + entry.buffers, entry.name)
            XCTAssertEqual(TimmModels.shapesChecksum(shapes), entry.shapesChecksum, entry.name)
            supported[entry.timmClass, default: 0] += 1
        }
        print("supported timm names per class: \(supported.sorted { $0.key < $1.key })")
        XCTAssertGreaterThanOrEqual(supported["VGG"] ?? 0, 8)
        XCTAssertGreaterThanOrEqual(supported["ResNet"] ?? 0, 5)
        XCTAssertGreaterThanOrEqual(supported["VisionTransformer"] ?? 0, 6)
    }

    /// Parameters are counted as PyTorch's `sum(p.numel() for p in model.parameters())`
    /// (timm 1.0.11's numbers), BatchNorm's running statistics apart as buffers.
    func testParameterCountsArePyTorchsWithoutTheBuffers() throws {
        let table = try TimmModels.shipped()
        let counts = ["resnet50": (25_557_032, 53_120), "vgg16": (138_357_544, 0), "vgg16_bn": (138_365_992, 8_448),
                      "vit_base_patch16_224": (86_567_656, 0)]
        for (name, (parameters, buffers)) in counts {
            let entry = try XCTUnwrap(table.entry(named: name)).entry
            XCTAssertEqual([entry.parameters, entry.buffers], [parameters, buffers], name)
        }
        // the bundled models: Weights/README.md's counts (model.parameters() in the training script)
        for (name, parameters) in ["vgg_fmnist": 341_898, "resnet_fmnist": 304_074, "vit_fmnist": 139_018] {
            let network = try ModelCatalog.load(model: name, weights: nil, config: nil).network
            XCTAssertEqual(network.parameterCount, parameters, name)
        }
    }

    func testTheChecksumIsTheGeneratorsFNV1a() {
        // FNV-1a 64 of "a:1" (computed by the generator's Python function).
        XCTAssertEqual(TimmModels.shapesChecksum([("a", [1])]), "e661e41904a09e69")
        XCTAssertEqual(TimmModels.shapesChecksum([("b", [2, 3]), ("a", [1]), ("x.num_batches_tracked", [])]),
                       TimmModels.shapesChecksum([("a", [1]), ("b", [2, 3])]))
    }

    func testRefusedNamesSayWhatTheyLack() throws {
        let table = try TimmModels.shipped()
        let expected: [String: String] = [
            "seresnet50": "squeeze-excitation", "ecaresnet50d": "efficient channel attention",
            "deit_base_distilled_patch16_224": "distillation token", "eva02_base_patch14_224": "EVA",
            "beit_base_patch16_224": "BEiT",
            // measured with the reference on small configurations (the reasons say "it cannot run these")
            "test_vit": "dynamic image sizes", "vit_intern300m_patch14_448": "dynamic image sizes",
            "vit_giant_patch14_dinov2": "gated MLPs", "vit_base_patch16_xp_224": "cannot run models whose embedding",
        ]
        for (name, part) in expected {
            let (entry, _) = try XCTUnwrap(table.entry(named: name), name)
            guard case .refused(let reason) = table.status(of: entry) else { XCTFail("\(name) is supported"); continue }
            XCTAssertTrue(reason.contains(part), "\(name): \(reason)")
            XCTAssertThrowsError(try ModelConfiguration(timmName: name)) { error in
                guard case .refusedModel(let refused, _)? = error as? ModelConfigurationError else {
                    return XCTFail("\(name): \(error)")
                }
                XCTAssertEqual(refused, name)
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains(part), "\(error)")
            }
        }
        for entry in table.models {
            if case .refused(let reason) = table.status(of: entry) {
                XCTAssertFalse(reason.contains("unknown architecture"), "\(entry.name): \(reason)")
            }
        }
    }

    func testPretrainedTagsSelectTheirInputFields() throws {
        let plain = try ModelConfiguration(timmName: "resnet50")
        XCTAssertEqual(plain.inputSize, [3, 224, 224])
        XCTAssertEqual(plain.data.cropPct, 0.95)
        XCTAssertEqual(plain.data.interpolation, .bicubic)
        let a3 = try ModelConfiguration(timmName: "resnet50.a3_in1k")
        XCTAssertEqual(a3.inputSize, [3, 160, 160])
        let tv = try ModelConfiguration(timmName: "vgg16.tv_in1k")
        XCTAssertEqual(tv.data.cropPct, 0.875)
        XCTAssertEqual(tv.data.interpolation, .bilinear)
        let vit = try ModelConfiguration(timmName: "vit_base_patch16_224.augreg2_in21k_ft_in1k")
        XCTAssertEqual(vit.data.mean, [0.5, 0.5, 0.5])
        XCTAssertThrowsError(try ModelConfiguration(timmName: "resnet50.no_such_tag")) { error in
            XCTAssertTrue("\(error)".contains("a1_in1k"), "\(error)")
        }
    }

    func testAConfigFileMayNameATimmModelWithOrWithoutATag() throws {
        for architecture in ["resnet18", "resnet18.a1_in1k"] {
            let json: [String: Any] = ["architecture": architecture, "num_classes": 10]
            let c = try ModelConfiguration(json: json, name: "x")
            XCTAssertEqual(c.numClasses, 10)
            XCTAssertEqual(c.architecture.familyName, "resnet")
        }
    }

    func testAStateDictIsIdentifiedByItsShapes() throws {
        let table = try TimmModels.shipped()
        let resnet50 = Classifier(configuration: try ModelConfiguration(timmName: "resnet50")).network.stateDictShapes
        let exact = table.matches(for: resnet50)
        XCTAssertTrue(exact.allSatisfy(\.isExact))
        XCTAssertTrue(exact.map(\.entry.name).contains("resnet50"), "\(exact.map(\.entry.name))")
        // A fine-tuned head: the same keys, one shape pair differs.
        let tuned = Classifier(configuration: try ModelConfiguration(timmName: "resnet18", overrides: ["num_classes": .int(10)]))
        let close = table.matches(for: tuned.network.stateDictShapes)
        XCTAssertEqual(close.first?.differingShapes, 2)
        XCTAssertEqual(close.first?.differingKeys, 0)
        XCTAssertTrue(close.map(\.entry.name).contains("resnet18"), "\(close.map(\.entry.name))")
        XCTAssertTrue(table.matches(for: [("encoder.weight", [3, 3])]).isEmpty)
    }

    func testTheReadmesModelListIsTheGeneratedOne() throws {
        let readme = try String(contentsOf: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "<!-- timm-models: generated by `abslrp models --markdown`; TimmModelTableTests checks it -->\n"))
        let end = try XCTUnwrap(readme.range(of: "\n<!-- /timm-models -->"))
        XCTAssertEqual(String(readme[start.upperBound..<end.lowerBound]), try TimmModels.shipped().markdownList(),
                       "README's model list is stale: paste `abslrp models --markdown` between the markers")
    }
}

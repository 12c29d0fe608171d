import XCTest
import AbsLRPCore
import TestFixtures

/// Files written by `scripts/export_timm.py` (timm's hub layout: F16/BF16
/// `model.safetensors` + `config.json` with `model_args` and `pretrained_cfg`)
/// load and give PyTorch's logits.
final class TimmExportTests: XCTestCase {
    func testExportedModelsMatchPyTorchLogits() throws {
        for name in ["resnet18_small", "vit_tiny_small"] {
            let dir = Fixtures.url("export/\(name)")
            let config = try ModelConfiguration(contentsOf: dir.appendingPathComponent("config.json"))
            XCTAssertEqual(config.name, name)
            let classifier = try Classifier(configuration: config, weights: dir.appendingPathComponent("model.safetensors"))
            let expected = try SafetensorsFile(contentsOf: dir.appendingPathComponent("expected.safetensors"))
            let logits = classifier.logits(try expected.tensor("input"))
            assertClose(logits, try expected.tensor("logits"), rtol: 1e-4, atol: 1e-5, "\(name) logits")
        }
    }

    func testPretrainedConfigurationDrivesPreprocessing() throws {
        let config = try ModelConfiguration(contentsOf: Fixtures.url("export/resnet18_small/config.json"))
        XCTAssertEqual(config.data.cropPct, 0.95)
        XCTAssertEqual(config.data.interpolation, .bicubic)
        let timm = try config.preprocessing(.timm)
        XCTAssertEqual(timm.cropSize, .init(224))
        guard case .timm(let transform) = timm.geometry else { return XCTFail("\(timm.geometry)") }
        XCTAssertEqual(transform.scaleSize, .init(Int((224 / 0.95).rounded(.down))))
        XCTAssertEqual(transform.interpolation, .bicubic)
        XCTAssertEqual(try config.preprocessing(.reference).geometry, .reference(resize: .init(256)))
    }
}

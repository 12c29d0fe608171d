import XCTest
import AbsLRPCore
import TestFixtures

/// Zennit 0.5.1's standard composites against Zennit itself on the same timm
/// weights (`scripts/make_zennit_fixtures.py`, `Tests/Fixtures/zennit`):
/// after max-normalisation per image, max |difference| <= 1e-3 and cosine
/// >= 0.99999 per image, for every composite on every VGG and ResNet fixture.
final class ZennitCompositeTests: XCTestCase {
    static let fixtures = ["vgg_mini", "vgg_bn_mini", "resnet_basic_mini", "resnet_bottleneck_mini"]

    func testCompositesMatchZennit() throws {
        var report: [String] = []
        for name in Self.fixtures {
            let golden = try GoldenModel(name)
            let zennit = try SafetensorsFile(contentsOf: Fixtures.url("zennit/\(name).zennit.safetensors"))
            let x = try golden.tensor("input")
            let targets = try golden.expected.integers("target")
            let p = try golden.classifier.configuration.preprocessing()
            XCTAssertEqual(p.mean, [0.485, 0.456, 0.406], "the fixtures' box bounds assume timm's ImageNet mean")
            XCTAssertEqual(p.std, [0.229, 0.224, 0.225], "the fixtures' box bounds assume timm's ImageNet std")
            for method in LayerwiseRelevance.zennitMethodNames {
                let lrp = try LayerwiseRelevance.zennit(method, classifier: golden.classifier)
                let ours = try lrp.attribution(x, targets: targets).normalizedMax()
                let expected = try zennit.tensor("relevance.\(method)").normalizedMax()
                let (diff, cos) = golden.assertRelevanceMatches(ours, expected, method)
                report.append("\(name) \(method): max|d| \(diff), min cos \(cos)")
            }
        }
        print(report.joined(separator: "\n"))
    }

    /// The canonizer keeps the model's function (up to the merged BatchNorms'
    /// `1 / sqrt(1 + eps)`) and leaves the model itself untouched.
    func testBatchNormMergeKeepsTheLogitsAndTheOriginal() throws {
        let golden = try GoldenModel("resnet_bottleneck_mini")
        let x = try golden.tensor("input")
        let before = golden.classifier.logits(x)
        let merged = golden.classifier.canonized(by: [SequentialBatchNormMerge()])
        assertClose(merged.logits(x), before, rtol: 1e-3, atol: 1e-4, "merged logits")
        XCTAssertEqual(golden.classifier.logits(x), before, "the original is unchanged")
        let norms = merged.network.operations.compactMap { $0 as? BatchNorm2d }
        XCTAssertFalse(norms.isEmpty)
        for bn in norms {
            XCTAssertEqual(bn.parameter("weight").storage, [Float](repeating: 1, count: bn.channels), bn.name)
            XCTAssertEqual(bn.parameter("running_var").storage, [Float](repeating: 1, count: bn.channels), bn.name)
        }
    }

    func testCompositesRefuseVisionTransformers() throws {
        let golden = try GoldenModel("vit_mini")
        for method in LayerwiseRelevance.zennitMethodNames {
            XCTAssertThrowsError(try LayerwiseRelevance.zennit(method, classifier: golden.classifier)) { error in
                guard case RelevancyMethodError.notApplicable = error else { return XCTFail("\(method): \(error)") }
            }
        }
    }
}

import XCTest
import AbsLRPCore

/// VGG and ResNet against the reference's golden outputs: logits, input
/// gradients, absLRP relevance (contrastive, positive, negative) and the
/// per-module relevance traces of the positive pass.
final class ConvolutionalModelGoldenTests: XCTestCase {
    static let fixtures = ["vgg_mini", "vgg_bn_mini", "resnet_basic_mini", "resnet_bottleneck_mini"]

    func testLogitsMatchReference() throws {
        for name in Self.fixtures {
            let g = try GoldenModel(name)
            assertClose(g.classifier.logits(try g.tensor("input")), try g.tensor("logits"), rtol: 1e-4, atol: 1e-6, "\(name) logits")
        }
    }

    func testInputGradientMatchesReference() throws {
        for name in Self.fixtures {
            let g = try GoldenModel(name)
            let targets = try g.expected.integers("target")
            let (_, gradient) = g.classifier.inputGradient(try g.tensor("input"), targets: targets)
            let expected = try g.tensor("input_gradient")
            let scale = expected.storage.map { abs($0) }.max() ?? 1
            assertClose(gradient, expected, rtol: 1e-4, atol: 1e-6 * scale, "\(name) input_gradient")
        }
    }

    func testRelevanceMatchesReference() throws {
        for name in Self.fixtures {
            let g = try GoldenModel(name)
            let e = try AbsLRP(classifier: g.classifier).explain(try g.tensor("input"))
            XCTAssertEqual(e.targets, try g.expected.integers("target"), "\(name) targets")
            let r = g.assertRelevanceMatches(e.relevance, try g.tensor("relevance"), "relevance")
            let p = g.assertRelevanceMatches(e.positive.normalizedMax(), try g.tensor("relevance_positive").normalizedMax(), "relevance_positive")
            let n = g.assertRelevanceMatches(e.negative.normalizedMax(), try g.tensor("relevance_negative").normalizedMax(), "relevance_negative")
            print("golden \(name): relevance max|d| \(r.0) min cos \(r.1); positive \(p.0) \(p.1); negative \(n.0) \(n.1)")
        }
    }

    func testEveryModuleTraceMatchesReference() throws {
        for name in Self.fixtures {
            let g = try GoldenModel(name)
            let e = try AbsLRP(classifier: g.classifier).explain(try g.tensor("input"), traces: true)
            let keys = g.expected.names.filter { $0.hasPrefix("trace.") }
            XCTAssertFalse(keys.isEmpty)
            var worst: (String, Float, Double) = ("", 0, 1)
            for key in keys {
                let module = String(key.dropFirst("trace.".count))
                guard let ours = e.traces[module] else { XCTFail("\(name): no trace for \(module)"); continue }
                let (d, c) = g.assertRelevanceMatches(ours.normalizedMax(), try g.tensor(key).normalizedMax(), key)
                if d > worst.1 { worst = (module, d, min(c, worst.2)) }
                worst.2 = min(worst.2, c)
            }
            print("traces \(name): \(keys.count) compared, worst max|d| \(worst.1) at \(worst.0), min cos \(worst.2)")
        }
    }
}

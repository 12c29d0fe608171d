import XCTest
import AbsLRPCore
import TestFixtures

/// One model fixture of `Tests/Fixtures/reference`: its configuration,
/// weights and the reference's outputs.
struct GoldenModel {
    let name: String
    let classifier: Classifier
    let expected: SafetensorsFile

    init(_ name: String) throws {
        self.name = name
        let config = try ModelConfiguration(contentsOf: Fixtures.url("reference/\(name).config.json"))
        classifier = try Classifier(configuration: config, weights: Fixtures.url("reference/\(name).weights.safetensors"))
        expected = try SafetensorsFile(contentsOf: Fixtures.url("reference/\(name).expected.safetensors"))
    }

    func tensor(_ key: String) throws -> Tensor { try expected.tensor(key) }

    /// The relevance bound of the fixtures' README: max |a - e| <= 1e-3 and
    /// cosine >= 0.99999 per sample. Returns (max abs difference, min cosine).
    @discardableResult
    func assertRelevanceMatches(_ actual: Tensor, _ expected: Tensor, _ label: String,
                                file: StaticString = #filePath, line: UInt = #line) -> (Float, Double) {
        guard actual.shape == expected.shape else {
            XCTFail("\(name) \(label): shape \(actual.shape) != \(expected.shape)", file: file, line: line)
            return (.infinity, -1)
        }
        let diff = maxAbsDifference(actual, expected)
        let cos = cosinePerSample(actual, expected).min() ?? 1
        XCTAssertLessThanOrEqual(diff, 1e-3, "\(name) \(label): max abs difference", file: file, line: line)
        XCTAssertGreaterThanOrEqual(cos, 0.99999, "\(name) \(label): min cosine", file: file, line: line)
        return (diff, cos)
    }

    /// Logits relative 1e-4 (fixtures README).
    func checkLogits(file: StaticString = #filePath, line: UInt = #line) throws {
        assertClose(classifier.logits(try tensor("input")), try tensor("logits"), rtol: 1e-4, atol: 1e-6, "\(name) logits",
                    file: file, line: line)
    }

    /// The input gradient of the reference's targets, relative 1e-4.
    func checkInputGradient(file: StaticString = #filePath, line: UInt = #line) throws {
        let targets = try expected.integers("target")
        let (_, gradient) = classifier.inputGradient(try tensor("input"), targets: targets)
        let reference = try tensor("input_gradient")
        let scale = reference.storage.map { abs($0) }.max() ?? 1
        assertClose(gradient, reference, rtol: 1e-4, atol: 1e-6 * scale, "\(name) input_gradient", file: file, line: line)
    }

    /// absLRP's targets, contrastive, positive and negative relevance
    /// against the reference's. Models without a head explain the
    /// reference's target features (they have no class to take the argmax of).
    func checkRelevance(file: StaticString = #filePath, line: UInt = #line) throws {
        let targets = classifier.hasClassifierHead ? nil : try expected.integers("target")
        let e = try AbsLRP(classifier: classifier).explain(try tensor("input"), targets: targets)
        XCTAssertEqual(e.targets, try expected.integers("target"), "\(name) targets", file: file, line: line)
        let r = assertRelevanceMatches(e.relevance, try tensor("relevance"), "relevance", file: file, line: line)
        let p = assertRelevanceMatches(e.extras["positive"]!.normalizedMax(), try tensor("relevance_positive").normalizedMax(),
                                       "relevance_positive", file: file, line: line)
        let n = assertRelevanceMatches(e.extras["negative"]!.normalizedMax(), try tensor("relevance_negative").normalizedMax(),
                                       "relevance_negative", file: file, line: line)
        print("golden \(name): relevance max|d| \(r.0) min cos \(r.1); positive \(p.0) \(p.1); negative \(n.0) \(n.1)")
    }

    /// Every `trace.*` of the reference's positive pass against ours.
    func checkTraces(file: StaticString = #filePath, line: UInt = #line) throws {
        let targets = classifier.hasClassifierHead ? nil : try expected.integers("target")
        let e = try AbsLRP(classifier: classifier).explain(try tensor("input"), targets: targets, traces: true)
        let keys = expected.names.filter { $0.hasPrefix("trace.") }
        XCTAssertFalse(keys.isEmpty, file: file, line: line)
        var worst: (String, Float, Double) = ("", 0, 1)
        for key in keys {
            let module = String(key.dropFirst("trace.".count))
            guard let ours = e.traces[module] else { XCTFail("\(name): no trace for \(module)", file: file, line: line); continue }
            let (d, c) = assertRelevanceMatches(ours.normalizedMax(), try tensor(key).normalizedMax(), key, file: file, line: line)
            if d > worst.1 { worst = (module, d, min(c, worst.2)) }
            worst.2 = min(worst.2, c)
        }
        print("traces \(name): \(keys.count) compared, worst max|d| \(worst.1) at \(worst.0), min cos \(worst.2)")
    }
}

import XCTest
import AbsLRPCore

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
}

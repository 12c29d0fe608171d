import AbsLRPCore
import Foundation
import GAE
import TestFixtures

/// One GAE fixture (`reference/gae_*_b{4,8}`): the model, the data set (the
/// `.expected` file itself holds `input` and `label`), the reference's batch
/// order and draws, and its scores.
struct GAEFixture {
    static let scoreNames = ["faithfulness", "robustness", "local_consistency", "contrastiveness", "gae"]

    let name: String
    let classifier: Classifier
    let dataset: SafetensorsDataset
    let batchSize: Int
    let sampling: ReplaySampling
    /// Expected score name -> values per positive, batch after batch.
    let expected: [String: [Float]]

    init(_ name: String) throws {
        self.name = name
        let configURL = Fixtures.url("reference/\(name).config.json")
        let config = try ModelConfiguration(contentsOf: configURL)
        classifier = try Classifier(configuration: config, weights: Fixtures.url("reference/\(name).weights.safetensors"))
        let expectedURL = Fixtures.url("reference/\(name).expected.safetensors")
        dataset = try SafetensorsDataset(url: expectedURL)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        batchSize = json["batch"] as! Int
        let file = try SafetensorsFile(contentsOf: expectedURL)
        sampling = ReplaySampling(batchOrder: try file.integers("batch_order"),
                                  draws: try file.integers("mosaic_positive_indices"), mosaicsPerBatch: batchSize / 4)
        expected = Dictionary(uniqueKeysWithValues: try Self.scoreNames.map { ($0, try file.tensor($0).storage) })
    }

    /// Runs GAE with absLRP, the fixture's order and draws injected.
    func run(pairing: PositivePairing) throws -> GAEReport {
        let gae = try GlobalAttributionEvaluation(
            classifier: classifier, methods: [AbsLRP(classifier: classifier)],
            configuration: GAEConfiguration(batchSize: batchSize, steps: 10, pairing: pairing))
        return try gae.run(on: dataset, sampling: sampling)
    }
}

extension GAEImageResult {
    /// A score by its fixture / JSON name.
    func score(_ name: String) -> Float {
        switch name {
        case "faithfulness": return faithfulness
        case "robustness": return robustness
        case "local_consistency": return localConsistency
        case "contrastiveness": return contrastiveness
        default: return gae
        }
    }
}

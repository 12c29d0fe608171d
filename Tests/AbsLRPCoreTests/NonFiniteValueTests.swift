import Foundation
import XCTest
import AbsLRPCore
import TestFixtures

/// NaN and infinity are refused where they enter (input tensors, a
/// configuration's statistics) with the tensor or field named, and relevance
/// that becomes non-finite inside a method is an error naming the method and
/// the layer, never a picture.
final class NonFiniteValueTests: XCTestCase {
    func testFirstNonFiniteGivesTheMultiIndex() {
        var t = Tensor(shape: [2, 3, 4], repeating: 1)
        XCTAssertNil(t.firstNonFinite())
        t.storage[23] = .nan
        t.storage[1 * 12 + 1 * 4 + 3] = -.infinity
        XCTAssertEqual(t.firstNonFinite()?.index, [1, 1, 3])
        XCTAssertEqual(t.firstNonFinite()?.value, -.infinity)
    }

    func testInputTensorWithNaNIsRefusedNamingTheFileAndIndex() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GoldenModel("vit_mini")
        var input = try model.tensor("input")
        input.storage[5] = .nan
        let file = dir.appendingPathComponent("nan.safetensors")
        try SafetensorsWriter.write(tensors: ["input": input], to: file)
        let out = dir.appendingPathComponent("out")
        XCTAssertThrowsError(try ExplainJob(source: .tensorFile(file), method: AbsLRP(classifier: model.classifier),
                                            outputDirectory: out).run()) { error in
            guard let error = error as? NonFiniteValueError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.index, [0, 0, 0, 5])
            XCTAssertTrue(error.description.contains("tensor 'input' of \(file.path)"), error.description)
            XCTAssertTrue(error.description.contains("nan"), error.description)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "no pictures")
        XCTAssertThrowsError(try model.classifier.validateInput(Tensor(shape: [1, 3, 0, 32]))) { error in
            XCTAssertTrue(error is ClassifierInputError, "\(error)")
        }
    }

    func testConfigurationStatisticsMustBeFinite() throws {
        var config = try ModelConfiguration(contentsOf: Fixtures.url("reference/vgg_mini.config.json"))
        config.data.mean = [0.5, .nan, 0.5]
        XCTAssertThrowsError(try config.validate()) { error in
            guard let error = error as? NonFiniteValueError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.subject, "mean")
            XCTAssertEqual(error.index, [1])
            XCTAssertTrue(error.value.isNaN)
        }
        config.data.mean = [0.5, 0.5, 0.5]
        config.data.std = [0.5, 0.5, .infinity]
        XCTAssertThrowsError(try config.validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("std holds inf at index [2]"), "\(error)")
        }
    }

    /// Weights of 1e38 make the first convolution's output infinite: the
    /// error names absLRP and `features.0`, and no picture is written. (The
    /// gradient stays finite here: it does not depend on the activations' size.)
    func testRelevanceThatBecomesNonFiniteNamesMethodAndLayer() throws {
        let model = try GoldenModel("vgg_mini")
        let weight = model.classifier.network.allModules.first { $0.name == "features.0" }!
        weight.setParameter("weight", weight.parameter("weight").map { $0 * 1e38 })
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try model.tensor("input")
        XCTAssertThrowsError(try AbsLRP(classifier: model.classifier).finiteRelevance(input, targets: nil)) { error in
            guard let error = error as? NonFiniteRelevanceError else { return XCTFail("\(error)") }
            XCTAssertEqual([error.method, error.layer, error.pass], ["abslrp", "features.0", "forward"])
            XCTAssertFalse(error.value.isFinite)
        }
        let file = dir.appendingPathComponent("input.safetensors")
        try SafetensorsWriter.write(tensors: ["input": input], to: file)
        XCTAssertThrowsError(try ExplainJob(source: .tensorFile(file), method: AbsLRP(classifier: model.classifier),
                                            outputDirectory: dir.appendingPathComponent("out")).run()) { error in
            XCTAssertTrue("\(error)".contains("abslrp produced"), "\(error)")
            XCTAssertTrue("\(error)".contains("at layer features.0"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("out").path), [])
    }

    /// A rule that makes NaN at one layer (a user's composite) leaves the
    /// forward finite: the error names the method's own traced pass (LRP's,
    /// not a gradient) and the layer.
    func testNonFiniteRelevanceInTheBackwardPassNamesThePassAndLayer() throws {
        struct NaNRule: RelevanceRule {
            func propagate(_ r: Tensor, at operation: AbsLRPCore.Operation, _ record: Record) -> [Tensor] {
                record.inputs.map { Tensor(shape: $0.shape) { _ in .nan } }
            }
        }
        let classifier = TinyModels.vgg()
        let convolutions = classifier.network.operations.filter { $0 is Conv2d }.map(\.name)
        let method = try LayerwiseRelevance(name: "mine", classifier: classifier, composite: NameMapComposite(
            [([convolutions[1]], NaNRule())], fallback: EpsilonRule()))
        XCTAssertThrowsError(try method.finiteRelevance(TinyModels.input(for: classifier), targets: nil)) { error in
            guard let error = error as? NonFiniteRelevanceError else { return XCTFail("\(error)") }
            XCTAssertEqual([error.method, error.layer, error.pass], ["mine", convolutions[1], "LRP"])
        }
    }

    func testPictureOfANaNTensorDoesNotTrap() {
        let image = RGBImage(tensor: Tensor(shape: [1, 1, 2], storage: [.nan, 0.5]))
        XCTAssertEqual(image.pixels, [0, 0, 0, 128, 128, 128])
    }
}

import AbsLRPCore
import Foundation
import XCTest
@testable import GAE

/// Bad input gives a clear, typed error.
final class GAEErrorTests: XCTestCase {
    private let classifier = TinyModel.classifier()

    private func evaluation(batchSize: Int = 4, shard: Shard = .whole, on model: Classifier? = nil) throws -> GlobalAttributionEvaluation {
        let model = model ?? classifier
        return try GlobalAttributionEvaluation(classifier: model, methods: [AbsLRP(classifier: model)],
                                               configuration: GAEConfiguration(batchSize: batchSize, steps: 2, shard: shard))
    }

    private func assertError(_ expected: GAEError, mentions words: [String], _ body: () throws -> Void,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? GAEError, expected, file: file, line: line)
            for word in words {
                XCTAssertTrue("\(error)".contains(word), "'\(error)' should mention '\(word)'", file: file, line: line)
            }
        }
    }

    func testBatchSizeMustBeAMultipleOfFour() {
        assertError(.batchSizeNotMultipleOfFour(6), mentions: ["multiple of 4", "try 8"]) { _ = try evaluation(batchSize: 6) }
        assertError(.batchSizeNotMultipleOfFour(0), mentions: ["multiple of 4"]) { _ = try evaluation(batchSize: 0) }
    }

    func testDatasetSmallerThanOneBatch() {
        assertError(.datasetTooSmall(count: 5, batchSize: 8), mentions: ["5 images", "at most 4"]) {
            _ = try evaluation(batchSize: 8).run(on: TinyModel.dataset(count: 5))
        }
        assertError(.datasetTooSmall(count: 3, batchSize: 4), mentions: ["3 images", "at least 4 images (one mosaic)"]) {
            _ = try evaluation(batchSize: 4).run(on: TinyModel.dataset(count: 3))
        }
    }

    func testUnreadableImageNamesTheFile() throws {
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("cat"), withIntermediateDirectories: true)
        for name in ["a.png", "b.png", "c.png"] {
            try FileManager.default.copyItem(at: Fixtures.url("images/rgb_77x53.png"), to: root.appendingPathComponent("cat/\(name)"))
        }
        let broken = root.appendingPathComponent("cat/broken.png")
        try Data("definitely not a PNG".utf8).write(to: broken)
        let dataset = try ImageFolderDataset(root: root, preprocessing: classifier.configuration.preprocessing())
        XCTAssertThrowsError(try evaluation().run(on: dataset)) { error in
            guard case GAEError.unreadableImage(let item, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(item, broken.path)
            XCTAssertTrue("\(error)".contains(broken.path))
        }
    }

    func testImageSizeTheModelCannotTake() throws {
        // A VGG with four 2x2 pools takes at least 16x16 pixels.
        let vgg = ModelConfiguration(
            architecture: .vgg(VGGConfiguration(cfg: [4, nil, 4, nil, 4, nil, 4, nil], mlpRatio: 0.001, numClasses: 10)),
            inputSize: [3, 16, 16], mean: imagenetDefaultMean, std: imagenetDefaultStd, cropPct: 1, name: "small_vgg")
        let small = TinyModel.dataset(count: 4, size: 8)
        XCTAssertThrowsError(try evaluation(on: Classifier(configuration: vgg)).run(on: small)) { error in
            guard case GAEError.unsupportedImageSize(let item, let shape, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(shape, [3, 8, 8])
            XCTAssertTrue(item.hasPrefix("random-4["))
            XCTAssertTrue("\(error)".contains("at least 16x16"), "\(error)")
        }
        let gray = TinyModel.dataset(count: 4, channels: 1)
        XCTAssertThrowsError(try evaluation().run(on: gray)) { error in
            guard case GAEError.unsupportedImageSize = error else { return XCTFail("\(error)") }
        }
    }

    func testLabelOutsideTheModelsClasses() {
        let data = TinyModel.dataset(count: 4)
        let bad = TensorDataset(name: "bad", images: data.images, labels: [1, 2, 12, 3])
        assertError(.labelOutOfRange(item: "bad[2]", label: 12, classes: 10), mentions: ["label 12", "0..<10"]) {
            _ = try evaluation().run(on: bad, sampling: ReplaySampling(batchOrder: [0, 1, 2, 3], draws: [0], mosaicsPerBatch: 1))
        }
    }

    func testUnknownDuplicateOrMissingMethod() {
        assertError(.unknownMethod(name: "deeplift", known: RelevancyMethods.names), mentions: ["deeplift", "known: abslrp"]) {
            _ = try GAEMethodCatalog.methods(named: ["abslrp", "deeplift"], classifier: classifier)
        }
        assertError(.duplicateMethod("AbsLRP"), mentions: ["twice"]) {
            _ = try GAEMethodCatalog.methods(named: ["abslrp", "AbsLRP"], classifier: classifier)
        }
        assertError(.noMethods, mentions: ["at least one"]) { _ = try GAEMethodCatalog.methods(named: [], classifier: classifier) }
        XCTAssertEqual(try GAEMethodCatalog.methods(named: ["AbsLRP"], classifier: classifier).map(\.name), ["abslrp"])
    }

    func testInvalidShardAndSampling() {
        assertError(.invalidShard(index: 2, count: 2), mentions: ["shard 2 of 2"]) { _ = try evaluation(shard: Shard(index: 2, count: 2)) }
        let data = TinyModel.dataset(count: 4)
        XCTAssertThrowsError(try evaluation().run(on: data, sampling: ReplaySampling(batchOrder: [0, 1, 1, 3], draws: [0],
                                                                                      mosaicsPerBatch: 1))) { error in
            guard case GAEError.invalidSampling = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try evaluation().run(on: data, sampling: ReplaySampling(batchOrder: [0, 1, 2, 3], draws: [],
                                                                                      mosaicsPerBatch: 1))) { error in
            XCTAssertTrue("\(error)".contains("draw -1"), "\(error)")
        }
    }

    /// absLRP whose map is NaN for an input holding a masked (zero) entry:
    /// R0 (the unmasked positives) and Rmos (the mosaics of random images)
    /// stay finite, the masked steps' maps, explained on the masking's own
    /// records, do not.
    private final class NaNOnMaskedInputs: RecordedRelevancyMethod {
        let absLRP: AbsLRP
        let name = "nan-on-masked"
        var classifier: Classifier { absLRP.classifier }
        var explainsClassifierRecord: Bool { absLRP.explainsClassifierRecord }
        init(_ classifier: Classifier) { absLRP = AbsLRP(classifier: classifier) }

        private func poisoned(_ relevance: Tensor, if input: Tensor) -> Tensor {
            input.storage.contains(0) ? relevance.map { _ in .nan } : relevance
        }

        func explain(_ x: Tensor, targets: [Int]?) throws -> Explanation {
            var explanation = try absLRP.explain(x, targets: targets)
            explanation.relevance = poisoned(explanation.relevance, if: x)
            return explanation
        }

        func relevance(recorded tape: Tape, logits: Tensor, targets: [Int]) -> Tensor {
            // the input before absLRP's passes release the records
            let input = tape.record(for: classifier.network.operations[0]).inputs[0]
            return poisoned(absLRP.relevance(recorded: tape, logits: logits, targets: targets), if: input)
        }
    }

    /// A non-finite map of a masked step while R0 and Rmos are finite: the
    /// run stops with the method's ``NonFiniteRelevanceError`` (no layer
    /// made it: the model's forward and traced pass are finite), not a trap
    /// and not NaN scores.
    func testNonFiniteMaskedStepMapWhileR0AndRmosAreFinite() throws {
        let method = NaNOnMaskedInputs(classifier)
        let data = TinyModel.dataset(count: 4)
        XCTAssertFalse(data.images.contains { $0.storage.contains(0) }, "the unmasked images must have no zero entry")
        let evaluation = try GlobalAttributionEvaluation(classifier: classifier, methods: [method],
                                                         configuration: GAEConfiguration(batchSize: 4, steps: 2))
        XCTAssertThrowsError(try evaluation.run(on: data)) { error in
            guard let error = error as? NonFiniteRelevanceError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.method, "nan-on-masked")
            XCTAssertNil(error.layer)
            XCTAssertEqual(error.pass, "method")
            XCTAssertTrue(error.value.isNaN)
            XCTAssertTrue("\(error)".contains("nan-on-masked produced nan relevance"), "\(error)")
        }
    }
}

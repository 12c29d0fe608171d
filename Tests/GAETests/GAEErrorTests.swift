import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

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

    /// absLRP whose map is `value` (NaN or infinity) for the inputs `poisons`
    /// picks and finite for the others; `recorded` picks GAE's path: R0, Rmos
    /// and the masked steps' maps from the forwards the run records anyway
    /// (``RecordedRelevancyMethod``), or each map from a call of its own.
    private final class NonFiniteOn: RecordedRelevancyMethod {
        let absLRP: AbsLRP
        let name: String
        let value: Float
        let recorded: Bool
        let poisons: (Tensor) -> Bool
        var classifier: Classifier { absLRP.classifier }
        var explainsClassifierRecord: Bool { recorded && absLRP.explainsClassifierRecord }
        init(_ classifier: Classifier, name: String, value: Float, recorded: Bool = true, poisons: @escaping (Tensor) -> Bool) {
            absLRP = AbsLRP(classifier: classifier)
            (self.name, self.value, self.recorded, self.poisons) = (name, value, recorded, poisons)
        }

        private func poisoned(_ relevance: Tensor, if input: Tensor) -> Tensor {
            poisons(input) ? relevance.map { _ in self.value } : relevance
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

    /// Runs `method` on `data` (4 images, one batch of one mosaic, 2 steps)
    /// with its journal in a fresh --out folder and checks what a bad map
    /// must give: the method's ``NonFiniteRelevanceError`` of `value` from
    /// its own arithmetic (no layer made it: the model's forward and traced
    /// pass are finite), not a trap and not NaN scores; and the run's output
    /// whole or absent: the folder holds at most the journal, which holds
    /// no batch and no torn record.
    private func assertStopsWithNonFiniteRelevance(of method: NonFiniteOn, on data: TensorDataset,
                                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let journal = folder.appendingPathComponent(GAEJournal.fileName)
        let evaluation = try GlobalAttributionEvaluation(classifier: classifier, methods: [method],
                                                         configuration: GAEConfiguration(batchSize: 4, steps: 2))
        XCTAssertThrowsError(try evaluation.run(on: data, journal: .start(journal)), file: file, line: line) { error in
            guard let error = error as? NonFiniteRelevanceError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.method, method.name, file: file, line: line)
            XCTAssertNil(error.layer, file: file, line: line)
            XCTAssertEqual(error.pass, "method", file: file, line: line)
            XCTAssertTrue(error.value.isNaN == method.value.isNaN && (error.value.isNaN || error.value == method.value),
                          "\(error.value)", file: file, line: line)
            XCTAssertTrue("\(error)".contains("\(method.name) produced \(method.value) relevance"), "\(error)",
                          file: file, line: line)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertTrue(Set(left).isSubset(of: [GAEJournal.fileName]), "\(left)", file: file, line: line)
        if FileManager.default.fileExists(atPath: journal.path) {
            let contents = try GAEJournal.read(journal)
            XCTAssertEqual(contents.entries.count, 0, file: file, line: line)
            XCTAssertEqual(contents.completeLength, try Data(contentsOf: journal).count, "a torn record", file: file, line: line)
        }
    }

    /// Four images without a zero entry: a masked step's input holds one.
    private func unmaskedImages() -> TensorDataset {
        let data = TinyModel.dataset(count: 4)
        XCTAssertFalse(data.images.contains { $0.storage.contains(0) }, "the unmasked images must have no zero entry")
        return data
    }

    /// A non-finite map of a masked step (an input holding a masked, zero
    /// entry) while R0 (the unmasked positives) and Rmos (the mosaics of
    /// random images) are finite; the masked steps' maps are explained on
    /// the masking's own records.
    func testNonFiniteMaskedStepMapWhileR0AndRmosAreFinite() throws {
        let data = unmaskedImages()
        try assertStopsWithNonFiniteRelevance(of: NonFiniteOn(classifier, name: "nan-on-masked", value: .nan) {
            $0.storage.contains(0)
        }, on: data)
    }

    /// A non-finite R0 (the map of an unmasked positive: one of the data
    /// set's images) while Rmos and the masked steps' maps are finite, on
    /// both paths: from the masking's first recorded step, and from a call
    /// of its own.
    func testNonFiniteR0WhileRmosAndMaskedStepsAreFinite() throws {
        let data = unmaskedImages()
        for recorded in [true, false] {
            try assertStopsWithNonFiniteRelevance(of: NonFiniteOn(classifier, name: "nan-r0", value: .nan, recorded: recorded) {
                input in data.images.contains { $0.storage == input.storage }
            }, on: data)
        }
    }

    /// A non-finite Rmos (the map of a mosaic: no zero entry, and not one of
    /// the data set's images) while R0 and the masked steps' maps are finite,
    /// on both paths: from the mosaics' recorded forward, and from a call of
    /// its own.
    func testNonFiniteRmosWhileR0AndMaskedStepsAreFinite() throws {
        let data = unmaskedImages()
        for recorded in [true, false] {
            try assertStopsWithNonFiniteRelevance(of: NonFiniteOn(classifier, name: "inf-rmos", value: .infinity,
                                                                  recorded: recorded) { input in
                !input.storage.contains(0) && !data.images.contains { $0.storage == input.storage }
            }, on: data)
        }
    }

    /// A non-finite R0 in the second of three batches: the run stops with
    /// the method's ``NonFiniteRelevanceError``, its journal keeps the first
    /// batch's entry as an uninterrupted run wrote it and nothing of the
    /// second (no torn record), and resuming it with a finite absLRP (same
    /// name, so the same fingerprint) evaluates the last two batches and
    /// ends with the uninterrupted run's results and journal.
    func testALaterBatchFailingKeepsTheEarlierBatchesJournalledAndTheRunResumable() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (uninterrupted, journal) = (folder.appendingPathComponent("whole.gae"), folder.appendingPathComponent(GAEJournal.fileName))
        let data = TinyModel.dataset(count: 12)  // three batches of 4, one mosaic each
        let configuration = GAEConfiguration(batchSize: 4, steps: 2)
        let finite = try GlobalAttributionEvaluation(classifier: classifier, methods: [AbsLRP(classifier: classifier)],
                                                     configuration: configuration)
        let whole = try finite.run(on: data, journal: .start(uninterrupted))
        let entries = try GAEJournal.read(uninterrupted).entries
        XCTAssertEqual(entries.count, 3)
        XCTAssertFalse(entries[1].results.isEmpty, "the second batch has a positive, whose R0 is the poisoned map")
        let second = entries[1].batch.indices.map { data.images[$0].storage }
        let failing = NonFiniteOn(classifier, name: "abslrp", value: .nan) { input in second.contains(input.storage) }
        let poisoned = try GlobalAttributionEvaluation(classifier: classifier, methods: [failing], configuration: configuration)
        XCTAssertThrowsError(try poisoned.run(on: data, journal: .start(journal))) { error in
            XCTAssertEqual((error as? NonFiniteRelevanceError)?.method, "abslrp", "\(error)")
        }
        let kept = try GAEJournal.read(journal)
        XCTAssertEqual(kept.entries.map(\.batch), [entries[0].batch])
        XCTAssertEqual(kept.entries.map(\.results), [entries[0].results])
        XCTAssertEqual(kept.completeLength, try Data(contentsOf: journal).count, "a torn record")
        let resumed = try finite.run(on: data, journal: .resume(journal))
        assertSameOutcome(resumed, whole)
        let journalled = try GAEJournal.read(journal).entries
        XCTAssertEqual(journalled.map(\.batch), entries.map(\.batch))
        XCTAssertEqual(journalled.map(\.results), entries.map(\.results))
    }
}

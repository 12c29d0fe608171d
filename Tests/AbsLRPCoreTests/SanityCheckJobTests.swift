import XCTest
import AbsLRPCore
import TestFixtures

/// `abslrp check`'s pipeline in the library: from a tensor file to
/// `report.json`, the figures and the page, with the model left as it was.
final class SanityCheckJobTests: XCTestCase {
    func testRunsBothChecksAndWritesTheReport() throws {
        let classifier = TinyModels.vgg()
        let x = TinyModels.input(for: classifier)
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let tensorFile = folder.appendingPathComponent("batch.safetensors")
        try SafetensorsWriter.write(tensors: ["input": x], to: tensorFile)
        let before = classifier.logits(x)
        let methods = try ["gradient", "random"].map { try RelevancyMethods.make($0, classifier: classifier) }
        let out = folder.appendingPathComponent("check")
        let result = try SanityCheckJob(source: .tensorFile(tensorFile), methods: methods, batchSize: 2, seed: 3,
                                        gridImages: 1, outputDirectory: out).run()
        XCTAssertEqual(result.images, 2)
        XCTAssertEqual(result.report.modelRandomization.methods.map(\.method), ["gradient", "random"])
        XCTAssertEqual(result.report.classSensitivity.methods.count, 2)
        XCTAssertEqual(result.report.modelRandomization.seed, 3)
        for file in [result.reportFile, result.page] { XCTAssertTrue(FileManager.default.fileExists(atPath: file.path), file.path) }
        XCTAssertEqual(classifier.logits(x), before, "the weights are restored")
    }

    func testRefusesAnEmptyMethodList() {
        XCTAssertThrowsError(try SanityCheckJob(source: .images([]), methods: [],
                                                outputDirectory: Fixtures.temporaryDirectory()).run()) { error in
            XCTAssertEqual(error as? SanityCheckJobError, .noMethods)
        }
    }
}

import Foundation
import XCTest
import AbsLRPCore
import TestFixtures

/// Targets of `abslrp explain`: lists of classes and the top K, one picture
/// per (image, target) under names that carry image, model, method and
/// target, and the source of every saved row.
final class ExplainTargetsTests: XCTestCase {
    private var tensorFile: URL { Fixtures.url("reference/vit_mini.expected.safetensors") }

    private func classifier() throws -> Classifier { try GoldenModel("vit_mini").classifier }

    func testClassListGivesOnePicturePerImageAndTargetAndSourcesPerRow() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try classifier()
        let file = dir.appendingPathComponent("relevance.safetensors")
        let results = try ExplainJob(source: .tensorFile(tensorFile), method: AbsLRP(classifier: model),
                                     targets: .classes([3, 1]), outputDirectory: dir.appendingPathComponent("out"),
                                     relevanceFile: file).run()
        let images = try SafetensorsFile(contentsOf: tensorFile).tensor("input").shape[0]
        XCTAssertEqual(results.count, 2 * images)
        XCTAssertEqual(Set(results.map(\.target)), [3, 1])
        let names = results.compactMap { $0.picture?.lastPathComponent }
        XCTAssertEqual(Set(names).count, names.count, "no two outputs share a file")
        XCTAssertTrue(names.contains("sample_000.\(model.configuration.name).abslrp.class3.png"), "\(names)")
        let saved = try SafetensorsFile(contentsOf: file)
        XCTAssertEqual(try saved.integers("target").count, 2 * images)
        let sources = try JSONSerialization.jsonObject(with: Data(saved.metadata["sources"]!.utf8)) as! [String]
        XCTAssertEqual(sources.count, 2 * images)
        XCTAssertEqual(sources[0], "\(tensorFile.path)[0]")
        XCTAssertEqual(results[0].source, "\(tensorFile.path)[0]")
    }

    func testTopKExplainsTheMostProbableClassesBestFirst() throws {
        let model = try classifier()
        let results = try ExplainJob(source: .tensorFile(tensorFile), method: AbsLRP(classifier: model), targets: .topK(2)).run()
        let first = results.filter { $0.name == "sample_000" }
        XCTAssertEqual(first.map(\.target), Array(first[0].predictions.prefix(2).map(\.classIndex)))
    }

    func testAnotherMethodDoesNotOverwrite() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try classifier()
        let a = try ExplainJob(source: .tensorFile(tensorFile), method: AbsLRP(classifier: model), outputDirectory: dir).run()
        let b = try ExplainJob(source: .tensorFile(tensorFile), method: try RelevancyMethods.make("gradient", classifier: model),
                               outputDirectory: dir).run()
        XCTAssertTrue(Set(a.compactMap(\.picture)).isDisjoint(with: Set(b.compactMap(\.picture))))
        for url in (a + b).compactMap(\.picture) { XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path) }
    }

    func testBadTargetsAreRefused() throws {
        let model = try classifier()
        let job = { (targets: ExplainJob.TargetSelection) in
            try ExplainJob(source: .tensorFile(self.tensorFile), method: AbsLRP(classifier: model), targets: targets).run()
        }
        XCTAssertThrowsError(try job(.classes([]))) { XCTAssertEqual($0 as? ExplainJobError, .noTargets) }
        XCTAssertThrowsError(try job(.classes([1, 99]))) { error in
            XCTAssertEqual(error as? ClassifierInputError, .targetOutOfRange(target: 99, classes: model.numClasses))
        }
        XCTAssertThrowsError(try job(.topK(0))) { XCTAssertEqual($0 as? ExplainJobError, .invalidTopK(0, classes: model.numClasses)) }
    }

    func testClassesAreNamedByIndexOrName() throws {
        var configuration = try classifier().configuration
        configuration.labelNames = (0..<configuration.numClasses).map { $0 == 5 ? "Ankle boot" : "class-\($0)" }
        XCTAssertEqual(configuration.classIndex(named: "5"), 5)
        XCTAssertEqual(configuration.classIndex(named: "ankle_boot"), 5)
        XCTAssertEqual(configuration.classIndex(named: " Ankle Boot "), 5)
        XCTAssertNil(configuration.classIndex(named: "boot"))
    }
}

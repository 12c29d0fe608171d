import Foundation
import XCTest
import AbsLRPCore
import TestFixtures

/// The explain pipeline behind `abslrp explain`: outputs written whole, and a
/// clear error for each bad input before any work is lost.
final class ExplainJobTests: XCTestCase {
    func method() throws -> AbsLRP { AbsLRP(classifier: try GoldenModel("vit_mini").classifier) }
    var tensorFile: URL { Fixtures.url("reference/vit_mini.expected.safetensors") }

    func testPicturesAndRelevanceFileAreWritten() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("pictures"), file = dir.appendingPathComponent("rel/relevance.safetensors")
        let results = try ExplainJob(source: .tensorFile(tensorFile), method: try method(), batchSize: 1,
                                     outputDirectory: out, relevanceFile: file).run()
        XCTAssertEqual(results.map(\.name), ["sample_000", "sample_001"])
        for r in results { XCTAssertNoThrow(try RGBImage.decode(contentsOf: XCTUnwrap(r.picture))) }
        let page = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        for r in results {
            XCTAssertTrue(page.contains("<img src=\"\(try XCTUnwrap(r.picture).lastPathComponent)\""), "index.html shows \(r.name)")
        }
        XCTAssertTrue(page.contains("top-5 classes"))
        let saved = try SafetensorsFile(contentsOf: file)
        XCTAssertEqual(saved.names, ["input", "logits", "relevance", "relevance_negative", "relevance_positive", "target"])
        let expected = try SafetensorsFile(contentsOf: tensorFile)
        XCTAssertEqual(try saved.integers("target"), try expected.integers("target"))
        XCTAssertLessThanOrEqual(maxAbsDifference(try saved.tensor("relevance"), try expected.tensor("relevance")), 1e-3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }, [],
                       "no temporary files left")
    }

    func testReportShowsEveryTargetOfAnImageInOneSection() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let results = try ExplainJob(source: .tensorFile(tensorFile), method: try method(), targets: .topK(2),
                                     outputDirectory: dir).run()
        XCTAssertEqual(results.count, 4)
        let page = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
        for name in ["sample_000", "sample_001"] {
            let section = try XCTUnwrap(page.components(separatedBy: "<h3 id=\"image-\(name)\">").dropFirst().first)
            let pictures = results.filter { $0.name == name }.map { $0.picture!.lastPathComponent }
            XCTAssertEqual(pictures.count, 2)
            let body = section.components(separatedBy: "<h3").first!
            for picture in pictures { XCTAssertTrue(body.contains("<img src=\"\(picture)\""), "\(picture) under \(name)") }
            XCTAssertEqual(page.components(separatedBy: "id=\"image-\(name)\"").count, 2, "one section per image")
        }
    }

    func testConstantMapsAreFlaggedWithTheirReason() throws {
        // A 32x32 input gives this ResNet a 1x1 last feature map: Grad-CAM's map is constant.
        let classifier = try GoldenModel("resnet_basic_mini").classifier
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.safetensors")
        try SafetensorsWriter.write(tensors: ["input": randomTensor([2, 3, 32, 32], seed: 5)], to: input)
        let gradcam = try GradCAM(classifier: classifier)
        let results = try ExplainJob(source: .tensorFile(input), method: gradcam, outputDirectory: dir).run()
        XCTAssertEqual(results.map { $0.warning?.description }, (0..<2).map {
            "warning: gradcam cannot localise sample_00\($0): its map is constant "
                + "(Grad-CAM's last feature map is 1x1 for a 32x32 input of \(classifier.configuration.name))"
        })
        let picture = try RGBImage.decode(contentsOf: XCTUnwrap(results[0].picture))
        XCTAssertGreaterThan(picture.width, 2 * 224, "input, heatmap and colour bar")
        let varying = try ExplainJob(source: .tensorFile(input), method: AbsLRP(classifier: classifier)).run()
        XCTAssertEqual(varying.map(\.warning), [nil, nil])
    }

    func testUnwritableOutputFolderFailsBeforeAnyWork() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocker = dir.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try ExplainJob(source: .tensorFile(tensorFile), method: try method(),
                                            outputDirectory: blocker.appendingPathComponent("out")).run()) { error in
            guard case .unwritableFolder(let path, _) = error as? OutputError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("file/out"))
            XCTAssertTrue("\(error)".hasPrefix("cannot write to"))
        }
    }

    func testMissingImageUnsupportedFileAndBadTargetAreClearErrors() throws {
        XCTAssertThrowsError(try InputImages.collect(["/nonexistent/cat.png"])) { error in
            XCTAssertEqual(error as? ImageDecodeError, .fileNotFound(path: "/nonexistent/cat.png"))
        }
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("images/rgb_77x53.png"), to: folder.appendingPathComponent("sub/a.png"))
        XCTAssertThrowsError(try InputImages.collect([folder.path])) { error in
            XCTAssertEqual(error as? ExplainJobError, .noImagesInFolder(folder.path))
            XCTAssertTrue("\(error)".contains("holds no jpeg/jpg/png file (folders are not searched recursively"), "\(error)")
        }
        XCTAssertThrowsError(try ExplainJob(source: .images([tensorFile]), method: try method()).run()) { error in
            XCTAssertTrue("\(error)".contains(tensorFile.path), "\(error)")
        }
        XCTAssertThrowsError(try ExplainJob(source: .tensorFile(tensorFile), method: try method(), target: 10).run()) { error in
            XCTAssertEqual(error as? ClassifierInputError, .targetOutOfRange(target: 10, classes: 10))
        }
        XCTAssertThrowsError(try ExplainJob(source: .tensorFile(Fixtures.url("reference/vgg_mini.expected.safetensors")),
                                            method: try method()).run()) { error in
            XCTAssertTrue(error is ClassifierInputError, "\(error)")
        }
    }

    func testUnknownModelAndMethodNameWhatExists() throws {
        XCTAssertThrowsError(try ModelCatalog.load(model: "resnet_imagenet", weights: nil, config: nil)) { error in
            XCTAssertTrue("\(error)".contains("unknown model 'resnet_imagenet'"), "\(error)")
        }
        XCTAssertThrowsError(try ModelCatalog.load(model: "resnet50", weights: nil, config: nil)) { error in
            XCTAssertEqual(error as? ModelCatalogError, .presetNeedsWeights("resnet50"))
        }
        XCTAssertThrowsError(try RelevancyMethods.make("deeplift", classifier: try method().classifier)) { error in
            XCTAssertTrue("\(error)".contains("available: abslrp"), "\(error)")
        }
    }
}

import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// Labels that are never silently wrong: ImageFolder folders mapped to the
/// model's class names, integers or sorted order; CSV labels by index or
/// name with errors naming the line; leftover images reported and, with
/// `keepLast`, scored.
final class LabelsAndLeftoversTests: XCTestCase {
    static let fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    func testFoldersNamedLikeClassesGetTheClassIndices() {
        let mapping = LabelMapping(folders: ["Ankle boot", "Bag", "T-shirt_top", "sneaker"], classNames: Self.fashion)
        XCTAssertEqual(mapping.kind, .classNames)
        XCTAssertEqual(mapping.labels, ["Ankle boot": 9, "Bag": 8, "T-shirt_top": 0, "sneaker": 7])
        XCTAssertEqual(mapping.lines(classNames: Self.fashion)[0], "  0 <- T-shirt_top (T-shirt/top)")
    }

    func testIntegerFoldersAreTheirLabels() {
        let mapping = LabelMapping(folders: ["0", "10", "3"], classNames: Self.fashion)
        XCTAssertEqual(mapping.kind, .integers)
        XCTAssertEqual(mapping.labels, ["0": 0, "10": 10, "3": 3])
        XCTAssertEqual(LabelMapping(folders: ["01", "2"], classNames: nil).kind, .sorted, "'01' is not written as an integer")
    }

    func testOtherFoldersTakeTorchvisionsSortedOrder() {
        let mapping = LabelMapping(folders: ["cats", "dogs"], classNames: Self.fashion)
        XCTAssertEqual(mapping.kind, .sorted)
        XCTAssertEqual(mapping.labels, ["cats": 0, "dogs": 1])
        XCTAssertNil(mapping.unmatched)
        let partial = LabelMapping(folders: ["Bag", "zebra"], classNames: Self.fashion)
        XCTAssertEqual(partial.kind, .sorted)
        XCTAssertEqual(partial.unmatched, ["zebra"], "a partial match is reported, not used")
        XCTAssertEqual(LabelMapping(folders: ["Shirt", "shirt"], classNames: Self.fashion).kind, .sorted,
                       "two folders cannot take one class")
    }

    private func imageTree(_ folders: [String], images: Int = 1) throws -> URL {
        let root = Fixtures.temporaryDirectory()
        for folder in folders {
            let dir = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<images {
                try RGBImage(width: 8, height: 8, filledWith: (UInt8(10 * i), 100, 200)).writePNG(to: dir.appendingPathComponent("\(i).png"))
            }
        }
        return root
    }

    private let preprocessing = PreprocessingConfig(resizeSize: .init(8), cropSize: .init(8), mean: [0, 0, 0], std: [1, 1, 1])

    func testImageFolderUsesTheMapping() throws {
        let root = try imageTree(["Ankle boot", "Bag"])
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try ImageFolderDataset(root: root, preprocessing: preprocessing, classNames: Self.fashion)
        XCTAssertEqual(data.items.map(\.label), [9, 8])
        XCTAssertEqual(data.labelMapping?.kind, .classNames)
        let plain = try GAEDatasets.open(root.path, preprocessing: preprocessing)
        XCTAssertEqual(try plain.image(at: 0).label, 0, "without class names: sorted order")
    }

    func testCSVLabelsByIndexOrNameAndErrorsNameTheLine() throws {
        let root = try imageTree(["x"])
        defer { try? FileManager.default.removeItem(at: root) }
        let csv = root.appendingPathComponent("list.csv")
        try "path,label\nx/0.png,3\nx/0.png,Ankle boot\nx/0.png,t-shirt top\n".write(to: csv, atomically: true, encoding: .utf8)
        let data = try CSVDataset(csv: csv, preprocessing: preprocessing, classNames: Self.fashion)
        XCTAssertEqual(data.items.map(\.label), [3, 9, 0])
        try "x/0.png,3\nx/0.png,Sandals\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CSVDataset(csv: csv, preprocessing: preprocessing, classNames: Self.fashion)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("line 2"), text)
            XCTAssertTrue(text.contains("'Sandals' must be a class index (an integer >= 0) or one of the model's class names"), text)
        }
        try "x/0.png,-1\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CSVDataset(csv: csv, preprocessing: preprocessing)) { error in
            XCTAssertTrue("\(error)".contains("line 1: label '-1' must be a class index (an integer >= 0)"), "\(error)")
        }
    }

    private let classifier = TinyModel.classifier()

    private func run(count: Int, batchSize: Int, keepLast: Bool, shard: Shard = .whole) throws -> GAEReport {
        let gae = try GlobalAttributionEvaluation(
            classifier: classifier, methods: [AbsLRP(classifier: classifier)],
            configuration: GAEConfiguration(batchSize: batchSize, steps: 2, seed: 3, shard: shard, keepLast: keepLast))
        return try gae.run(on: TinyModel.dataset(count: count, labeller: classifier))
    }

    func testLeftoverImagesAreReported() throws {
        let report = try run(count: 14, batchSize: 8, keepLast: false)
        XCTAssertEqual(report.batches.count, 1)
        let leftover = try XCTUnwrap(report.settings.leftover)
        XCTAssertEqual(leftover.count, 6)
        XCTAssertEqual(Set(leftover).union(report.batches[0].indices), Set(0..<14))
        XCTAssertNil(report.settings.keepLast)
        try report.validate(source: "run")
    }

    func testKeepLastScoresASmallerFinalBatchOfWholeMosaics() throws {
        let report = try run(count: 14, batchSize: 8, keepLast: true)
        XCTAssertEqual(report.batches.map(\.indices.count), [8, 4], "6 left over: one mosaic of 4, 2 unscored")
        XCTAssertEqual(report.settings.leftover?.count, 2)
        XCTAssertEqual(report.results.count, 3, "2 + 1 mosaics")
        XCTAssertEqual(report.throughput.images, 12)
        try report.validate(source: "run")
        let shards = try (0..<2).map { try run(count: 14, batchSize: 8, keepLast: true, shard: Shard(index: $0, count: 2)) }
        let merged = try GAEReport.merge(shards)
        XCTAssertEqual(merged.results, report.results, "shards split the final batch like any other")
        let small = try run(count: 6, batchSize: 8, keepLast: true)
        XCTAssertEqual(small.batches.map(\.indices.count), [4], "a data set smaller than one batch still gives a mosaic")
    }

    func testMappingAndLeftoverAreWrittenIntoResults() throws {
        var report = try run(count: 10, batchSize: 8, keepLast: false)
        report.settings.labelMapping = LabelMapping(folders: ["Bag"], classNames: Self.fashion)
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try report.write(to: folder)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: files.json)) as! [String: Any]
        let settings = try XCTUnwrap(json["settings"] as? [String: Any])
        XCTAssertEqual((settings["leftover"] as? [Int])?.count, 2)
        let mapping = try XCTUnwrap(settings["label_mapping"] as? [String: Any])
        XCTAssertEqual(mapping["kind"] as? String, "class_names")
        XCTAssertEqual(mapping["labels"] as? [String: Int], ["Bag": 8])
    }
}

import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// results.json / results.csv, summaries, pictures and progress lines.
final class ResultsTests: XCTestCase {
    private static let classifier = TinyModel.classifier()
    private static let dataset = TinyModel.dataset(count: 16, labeller: classifier)
    /// One small run shared by the tests of this class.
    private static let report: GAEReport = {
        let gae = try! GlobalAttributionEvaluation(
            classifier: classifier, methods: [AbsLRP(classifier: classifier)],
            configuration: GAEConfiguration(batchSize: 8, steps: 3, seed: 1))
        return try! gae.run(on: dataset)
    }()

    func testJSONRoundTripsAndHasTheDocumentedKeys() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (json, csv) = try Self.report.write(to: folder)
        XCTAssertEqual(try GAEReport(contentsOf: json), Self.report)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["settings", "batches", "results", "summary", "throughput"])
        let settings = object["settings"] as! [String: Any]
        XCTAssertEqual(Set(settings.keys), ["model", "methods", "batch_size", "steps", "seed", "pairing", "shard",
                                            "dataset", "dataset_count"])
        XCTAssertEqual(settings["pairing"] as? String, "consistent")
        let result = (object["results"] as! [[String: Any]])[0]
        XCTAssertEqual(Set(result.keys), ["method", "batch", "index", "mosaic", "label", "prediction", "faithfulness",
                                          "robustness", "local_consistency", "contrastiveness", "gae", "constant_map",
                                          "source"])
        let throughput = object["throughput"] as! [String: Any]
        XCTAssertNotNil(throughput["images_per_second"])
        let gae = ((object["summary"] as! [[String: Any]])[0]["gae"]) as! [String: Any]
        XCTAssertEqual(Set(gae.keys), ["mean", "ci95_low", "ci95_high"])

        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + Self.report.results.count)
        XCTAssertEqual(lines[0], "method,batch,index,mosaic_tl,mosaic_tr,mosaic_bl,mosaic_br,label,prediction,"
                       + "faithfulness,robustness,local_consistency,contrastiveness,gae,source")
        let first = Self.report.results[0]
        XCTAssertEqual(lines[1].split(separator: ",").map(String.init),
                       ["abslrp", "\(first.batch)", "\(first.index)"] + first.mosaic.map(String.init)
                       + ["\(first.label)", "\(first.prediction)", "\(first.faithfulness)", "\(first.robustness)",
                          "\(first.localConsistency)", "\(first.contrastiveness)", "\(first.gae)",
                          try XCTUnwrap(first.source, "each row names its image")])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                       ["results.csv", "results.json"], "no temporary files left")
    }

    /// A write that fails (here: the destination is a folder, so the final
    /// rename fails) leaves neither a partial file nor a temporary one.
    func testFailedWriteLeavesNothingBehind() throws {
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("results.json"), withIntermediateDirectories: false)
        XCTAssertThrowsError(try Self.report.write(to: folder)) { error in
            guard case OutputError.cannotWrite(let path, _)? = error as? OutputError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("results.json"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["results.json"])
        XCTAssertThrowsError(try Self.report.write(to: folder.appendingPathComponent("missing")))
    }

    func testConstantMapsAreRecordedPerImageAndMethod() throws {
        // 16x16 inputs give the tiny ResNet a 1x1 last feature map: every Grad-CAM map is constant.
        let methods: [RelevancyMethod] = [try GradCAM(classifier: Self.classifier), AbsLRP(classifier: Self.classifier)]
        let gae = try GlobalAttributionEvaluation(classifier: Self.classifier, methods: methods,
                                                  configuration: GAEConfiguration(batchSize: 8, steps: 2, seed: 1))
        let report = try gae.run(on: Self.dataset)
        XCTAssertEqual(report.summary.map(\.constantMaps), [report.summary[0].count, 0])
        XCTAssertEqual(report.summary[0].localisationWarning,
                       "warning: gradcam gave a constant map for 4 of 4 positive images: it cannot localise them")
        XCTAssertNil(report.summary[1].localisationWarning)
        let object = try JSONSerialization.jsonObject(with: report.jsonData()) as! [String: Any]
        XCTAssertEqual((object["summary"] as! [[String: Any]]).map { $0["constant_maps"] as? Int }, [4, 0])
        XCTAssertEqual(try JSONDecoder().decode(GAEReport.self, from: report.jsonData()), report)
        // Files from before the field read as "not constant".
        var old = try JSONSerialization.jsonObject(with: Self.report.jsonData()) as! [String: Any]
        old["results"] = (old["results"] as! [[String: Any]]).map { $0.filter { $0.key != "constant_map" } }
        old["summary"] = (old["summary"] as! [[String: Any]]).map { $0.filter { $0.key != "constant_maps" } }
        XCTAssertEqual(try JSONDecoder().decode(GAEReport.self, from: JSONSerialization.data(withJSONObject: old)), Self.report)
    }

    func testSummaryIsMeanAndNormalConfidenceInterval() {
        let s = GAEStatistic([1, 2, 3, 4])
        XCTAssertEqual(s.mean, 2.5)
        let half = 1.96 * (5.0 / 3.0 / 4.0).squareRoot()  // sample variance 5/3
        XCTAssertEqual(s.ci95Low!, 2.5 - half, accuracy: 1e-12)
        XCTAssertEqual(s.ci95High!, 2.5 + half, accuracy: 1e-12)
        XCTAssertNil(GAEStatistic([0.5]).ci95Low)
        XCTAssertEqual(GAEStatistic([0.5]).mean, 0.5)
        XCTAssertNil(GAEStatistic([]).mean)
        let summary = Self.report.summary[0]
        let gae = Self.report.results.map { Double($0.gae) }
        XCTAssertEqual(summary.gae.mean!, gae.reduce(0, +) / Double(gae.count), accuracy: 1e-12)
    }

    func testProgressLines() {
        var written: [String] = []
        let plain = StandardErrorProgressReporter(isTerminal: false, interval: 10) { written.append($0) }
        plain.report(GAEProgress(imagesDone: 0, imagesTotal: 64, elapsed: 0))
        plain.report(GAEProgress(imagesDone: 8, imagesTotal: 64, elapsed: 4))   // within the interval: skipped
        plain.report(GAEProgress(imagesDone: 32, imagesTotal: 64, elapsed: 16))
        plain.report(GAEProgress(imagesDone: 64, imagesTotal: 64, elapsed: 32))  // the end is always shown
        XCTAssertEqual(written, ["gae: 0/64 images (0.0%)\n",
                                 "gae: 32/64 images (50.0%), 2.00 images/s, 16s left\n",
                                 "gae: 64/64 images (100.0%), 2.00 images/s, done in 32s\n"])
        written = []
        let terminal = StandardErrorProgressReporter(isTerminal: true) { written.append($0) }
        terminal.report(GAEProgress(imagesDone: 8, imagesTotal: 16, elapsed: 400))
        terminal.report(GAEProgress(imagesDone: 16, imagesTotal: 16, elapsed: 800))
        XCTAssertEqual(written, ["\r\u{1B}[Kgae: 8/16 images (50.0%), 0.02 images/s, 6m40s left",
                                 "\r\u{1B}[Kgae: 16/16 images (100.0%), 0.02 images/s, done in 13m20s\n"])
    }
}

import AbsLRPCore
import FigureTesting
import Foundation
import XCTest
@testable import GAE

/// Every run's `index.html` rendered in headless Chromium: the screenshot is
/// a full page (not blank, the requested size, with the heatmaps' and bars'
/// colours), every `<img src>` is a file of the run, and Chromium loads each
/// picture (naturalWidth > 0). Needs Chromium: `ABSLRP_CHROMIUM=/usr/bin/chromium`,
/// which `scripts/test-reports.sh` installs and sets; skipped without it.
final class ReportRenderingTests: XCTestCase {
    private static let classifier = TinyModel.classifier()
    private static let dataset = TinyModel.dataset(count: 16, labeller: classifier)
    private var chromium: String!
    private var folder: URL!

    override func setUpWithError() throws {
        guard let path = ProcessInfo.processInfo.environment["ABSLRP_CHROMIUM"] else {
            throw XCTSkip("set ABSLRP_CHROMIUM to a Chromium binary (scripts/test-reports.sh does)")
        }
        chromium = path
        folder = pictureFolder("reports").url
    }

    override func tearDown() {
        if ProcessInfo.processInfo.environment["FIGURES_DIR"] == nil, let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func testExplainReport() throws {
        let out = folder.appendingPathComponent("explain"), input = folder.appendingPathComponent("input.safetensors")
        let images = Tensor.stack((0..<3).map { try! Self.dataset.image(at: $0).image })
        try SafetensorsWriter.write(tensors: ["input": images], to: input)
        for method in [AbsLRP(classifier: Self.classifier), try GradCAM(classifier: Self.classifier)] as [RelevancyMethod] {
            let results = try ExplainJob(source: .tensorFile(input), method: method,
                                         outputDirectory: out.appendingPathComponent(method.name)).run()
            let html = try assertRenders(out.appendingPathComponent(method.name), pictures: 3)
            XCTAssertTrue(html.contains("top-5 classes"))
            XCTAssertEqual(html.contains("cannot localise"), method is GradCAM, "Grad-CAM's 1x1 maps are flagged")
            XCTAssertEqual(results.count, 3)
        }
    }

    func testEvaluateAndMergeReports() throws {
        let methods: [RelevancyMethod] = [AbsLRP(classifier: Self.classifier), try GradCAM(classifier: Self.classifier)]
        var shards: [URL] = []
        for k in 0..<2 {
            let gae = try GlobalAttributionEvaluation(classifier: Self.classifier, methods: methods,
                                                      configuration: GAEConfiguration(batchSize: 4, steps: 2, seed: 1,
                                                                                      shard: Shard(index: k, count: 2)))
            let extremes = ExtremeMaps(k: 2)
            let report = try gae.run(on: Self.dataset, keeping: extremes)
            let out = folder.appendingPathComponent("evaluate-\(k)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            shards.append(try report.write(to: out).json)
            let pictures = try report.writePictures(to: out, extremes: extremes, model: Self.classifier.configuration, k: 2)
            try report.reportPage(pictures: pictures, folder: out, labelNames: ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
                .data.write(to: out.appendingPathComponent(HTMLPage.fileName))
            let html = try assertRenders(out, pictures: 3)
            for needle in ["Summary", "95% confidence interval", "Settings", "Throughput", "Labels", "gradcam gave a constant map"] {
                XCTAssertTrue(html.contains(needle), needle)
            }
        }
        let merged = try GAEReport.merge(files: shards), out = folder.appendingPathComponent("merged")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try merged.write(to: out)
        try merged.reportPage(pictures: .init(summary: merged.writeSummaryChart(to: out)), folder: out, labelNames: nil)
            .data.write(to: out.appendingPathComponent(HTMLPage.fileName))
        let html = try assertRenders(out, pictures: 1)
        XCTAssertTrue(html.contains("No best/worst figures"))
    }

    func testCheckReport() throws {
        let methods: [RelevancyMethod] = [AbsLRP(classifier: Self.classifier), try GradCAM(classifier: Self.classifier)]
        let images = Tensor.stack((0..<2).map { try! Self.dataset.image(at: $0).image })
        let maps = CheckReport.Maps(shown: 2, methods: methods.count)
        let randomization = try ModelRandomization(methods: methods, batchSize: 2).run(images, maps: maps.record)
        let sensitivity = try ClassSensitivity(methods: methods, batchSize: 2).run(images)
        let shown = (0..<2).map { i in
            ("image \(i)", RGBImage(tensor: Self.classifier.configuration.displayPreprocessing.denormalize(Self.dataset.images[i])))
        }
        let out = folder.appendingPathComponent("check")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let report = CheckReport(randomization: randomization, sensitivity: sensitivity, maps: maps, images: shown)
        try report.write(to: out)
        XCTAssertEqual(report.warnings.count, 1, "Grad-CAM on a 1x1 feature map")
        XCTAssertEqual(report.sensitivityVerdict(1), "constant maps")
        let html = try assertRenders(out, pictures: 3)
        XCTAssertTrue(html.contains("Maps per step: image 1"))
        let grid = try svgElements(String(contentsOf: out.appendingPathComponent("randomization_0.svg"), encoding: .utf8))
        XCTAssertEqual(grid.filter { $0.className == "cell" }.count, methods.count * randomization.steps.count)
        XCTAssertEqual(grid.filter { $0.className == "row-label" }.map(\.text), ["abslrp", "gradcam"])
        XCTAssertTrue(grid.filter { $0.className == "cell" && $0["data-method"] == "gradcam" }.allSatisfy { $0["data-constant"] == "true" })
    }

    /// Checks the page in `folder`: pictures exist and load, the screenshot is a page.
    /// - Returns: the page's HTML.
    @discardableResult
    func assertRenders(_ folder: URL, pictures: Int, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let page = folder.appendingPathComponent(HTMLPage.fileName)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertFalse(html.contains("<script"), "the report needs no JavaScript", file: file, line: line)
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no network", file: file, line: line)
        let sources = try NSRegularExpression(pattern: #"<img src="([^"]*)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html))
            .map { String(html[Range($0.range(at: 1), in: html)!]) }
        XCTAssertGreaterThanOrEqual(sources.count, pictures, "pictures referenced", file: file, line: line)
        for src in sources {
            let path = folder.appendingPathComponent(src.removingPercentEncoding!).path
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(src) is a file of the run", file: file, line: line)
        }
        // Chromium loads every picture: a copy of the page with a probe that records naturalWidth.
        let probe = folder.appendingPathComponent("probe.html")
        defer { try? FileManager.default.removeItem(at: probe) }
        try html.replacingOccurrences(of: "</body>", with: """
            <script>addEventListener('load',()=>{const i=[...document.images];document.body.dataset.images=i.length;\
            document.body.dataset.broken=i.filter(x=>!x.complete||x.naturalWidth===0).map(x=>x.getAttribute('src')).join(' ')})</script></body>
            """).write(to: probe, atomically: true, encoding: .utf8)
        let dom = try runChromium(["--dump-dom", "--virtual-time-budget=10000", probe.absoluteString])
        XCTAssertTrue(dom.contains("data-images=\"\(sources.count)\""), "Chromium saw every <img>", file: file, line: line)
        XCTAssertTrue(dom.contains("data-broken=\"\""), "every picture loads: \(dom.components(separatedBy: "data-broken=").dropFirst().first?.prefix(200) ?? "no probe result")",
                      file: file, line: line)

        let shot = folder.appendingPathComponent("screenshot.png")
        _ = try runChromium(["--screenshot=\(shot.path)", "--window-size=1280,1600", page.absoluteString])
        let image = try RGBImage.decode(contentsOf: shot)
        XCTAssertEqual([image.width, image.height], [1280, 1600], file: file, line: line)
        var ink = 0, red = 0
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            let (r, g, b) = (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2])
            if r < 200 || g < 200 || b < 200 { ink += 1 }
            if r > 150 && g < 90 && b < 90 { red += 1 }
        }
        XCTAssertGreaterThan(Double(ink) / Double(image.width * image.height), 0.01, "not blank", file: file, line: line)
        XCTAssertGreaterThan(red, 50, "heatmaps, colour bars or warnings in red are visible", file: file, line: line)
        return html
    }

    /// Runs headless Chromium with `arguments`, at most 90 s; returns its standard output.
    func runChromium(_ arguments: [String]) throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                             "--allow-file-access-from-files", "--user-data-dir=\(profile.path)"]
            + (getuid() == 0 ? ["--no-sandbox"] : []) + arguments
        // Standard output goes to a file in the profile folder (no pipe to drain concurrently).
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        let outputFile = profile.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        if finished.wait(timeout: .now() + 90) == .timedOut {
            process.terminate()
            XCTFail("Chromium did not finish within 90 s: \(arguments)")
        }
        return String(decoding: try Data(contentsOf: outputFile), as: UTF8.self)
    }
}

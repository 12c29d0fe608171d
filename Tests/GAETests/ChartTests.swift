import AbsLRPCore
import FigureTesting
import Foundation
import XCTest
@testable import GAE

/// The GAE summary chart, the best/worst figure and the sanity-check line chart, read back from their SVG and PNG.
final class ChartTests: XCTestCase {
    private static let classifier = TinyModel.classifier()
    private static let dataset = TinyModel.dataset(count: 16, labeller: classifier)

    /// A method's results with local consistency `lc`, contrastiveness `c`
    /// and GAE `lc * c`, jittered by `spread`.
    static func results(_ method: String, count: Int, lc: Float, c: Float, spread: Float, seed: UInt64) -> [GAEImageResult] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let l = lc + spread * (rng.nextUniform() - 0.5), k = c + spread * (rng.nextUniform() - 0.5)
            return GAEImageResult(method: method, batch: i / 4, index: i, mosaic: [i, i + 1, i + 2, i + 3], label: i % 10,
                                  prediction: i % 10, scores: GAEScores(faithfulness: l, robustness: l, localConsistency: l,
                                                                        contrastiveness: k, gae: l * k))
        }
    }

    static let summary = [
        GAEMethodSummary(method: "abslrp", results: results("abslrp", count: 40, lc: 0.9, c: 0.6, spread: 0.1, seed: 1)),
        GAEMethodSummary(method: "integrated-gradients", results: results("integrated-gradients", count: 40, lc: 0.3,
                                                                         c: 0.05, spread: 0.02, seed: 2)),
    ]

    func testSummaryChartHasOnePanelPerScoreWithItsOwnAxis() throws {
        let svg = SummaryChart.svg(Self.summary, model: "vit_fmnist", dataset: "fashion-mnist-test", images: 160)
        let elements = try svgElements(svg.text)
        let title = try XCTUnwrap(elements.first { $0.className == "title" }?.text)
        let subtitle = elements.filter { $0.className == "subtitle" }.map(\.text).joined(separator: "\n")
        for needle in ["abslrp", "integrated-gradients", "fashion-mnist-test"] { XCTAssertTrue(title.contains(needle), title) }
        for needle in ["vit_fmnist", "n = 40", "95% confidence interval"] { XCTAssertTrue(subtitle.contains(needle), subtitle) }
        XCTAssertEqual(elements.filter { $0.className == "panel-title" }.map(\.text),
                       ["local consistency", "contrastiveness", "GAE"])

        for (metric, statistic) in SummaryChart.metrics.map({ m in (m.name, Self.summary.map { m.value($0) }) }) {
            let grid = elements.filter { $0.className == "grid" && $0["data-axis"] == metric }
            let ticks = grid.map { $0.number("data-value")! }
            let highest = statistic.map { $0.ci95High! }.max()!
            XCTAssertEqual(ticks.first, 0, "\(metric) starts at 0")
            XCTAssertGreaterThanOrEqual(ticks.last!, highest, "\(metric) axis covers every interval")
            XCTAssertLessThan(ticks.last!, 2 * highest, "\(metric) axis is the panel's own, not a shared 0..1")
            let labels = elements.filter { $0.className == "tick-label" && $0["data-axis"] == metric }
            XCTAssertEqual(labels.count, ticks.count)
            let scale = AxisScale(covering: statistic.flatMap { [$0.mean!, $0.ci95Low!, $0.ci95High!] })
            XCTAssertEqual(labels.map(\.text), scale.ticks.map(scale.label))
            // Bar heights are the means on this axis.
            let zero = grid.first!.number("y1")!, top = grid.last!.number("y1")!
            for (method, stat) in zip(Self.summary, statistic) {
                let bar = try XCTUnwrap(elements.first {
                    $0.className == "bar" && $0["data-method"] == method.method && $0["data-metric"] == metric
                })
                XCTAssertEqual(bar.number("height")! / (zero - top), stat.mean! / ticks.last!, accuracy: 0.003,
                               "\(metric) bar of \(method.method)")
                XCTAssertEqual(bar.number("y")! + bar.number("height")!, zero, accuracy: 0.01, "bars stand on 0")
                let ci = try XCTUnwrap(elements.first {
                    $0.className == "ci" && $0["data-method"] == method.method && $0["data-metric"] == metric
                })
                XCTAssertEqual((zero - ci.number("y2")!) / (zero - top), stat.ci95High! / ticks.last!, accuracy: 0.003)
            }
        }
        // The small contrastiveness of integrated gradients (0.05) is still a visible bar.
        let small = try XCTUnwrap(elements.first {
            $0.className == "bar" && $0["data-method"] == "integrated-gradients" && $0["data-metric"] == "contrastiveness"
        })
        XCTAssertGreaterThan(small.number("height")!, 10)
        assertTextInside(elements, svg)

        let picture = try svg.rasterized()
        let bar = elements.first { $0.className == "bar" && $0["data-method"] == "abslrp" && $0["data-metric"] == "GAE" }!
        let (bx, by) = (Int(bar.number("x")! + 4), Int(bar.number("y")! + bar.number("height")! - 3))
        XCTAssertEqual(picture.pixel(bx, by), [0x1f, 0x77, 0xb4], "abslrp's bars are tab10 blue")
        let folder = pictureFolder("gae")
        defer { if !folder.keep { try? FileManager.default.removeItem(at: folder.url) } }
        try svg.write(to: folder.url.appendingPathComponent("summary_two_methods"))
    }

    /// Every text element's estimated extent (rotation included) lies inside the picture.
    func assertTextInside(_ elements: [SVGElement], _ svg: SVGDocument, file: StaticString = #filePath, line: UInt = #line) {
        for t in elements where t.name == "text" {
            let (x, y, size) = (t.number("x")!, t.number("y")!, t.number("font-size")!)
            let width = SVGDocument.textWidth(t.text, size: size)
            let rotation = t["transform"].flatMap { Double($0.dropFirst(7).split(separator: " ")[0]) } ?? 0
            let start: Double = t["text-anchor"] == "end" ? -width : t["text-anchor"] == "middle" ? -width / 2 : 0
            let angle = rotation * .pi / 180
            for along in [start, start + width] {
                let (px, py) = (x + along * cos(angle), y + along * sin(angle))
                XCTAssertTrue((-0.5...(svg.width + 0.5)).contains(px) && (-0.5...(svg.height + 0.5)).contains(py),
                              "\"\(t.text)\" reaches (\(px), \(py)) outside \(svg.width)x\(svg.height)", file: file, line: line)
            }
        }
    }

    func testRandomisationChartKeepsEveryLabelInside() throws {
        let steps = ["none", "head", "norm", "blocks.5", "blocks.4", "blocks.3", "blocks.2", "blocks.1", "blocks.0",
                     "patch_embed.proj", "cls_token+pos_embed"]
        let series = [LineChart.Series(name: "abslrp", values: steps.indices.map { 1 - 0.09 * Double($0) }),
                      LineChart.Series(name: "random", values: steps.indices.map { _ in 0.01 })]
        let svg = LineChart.svg(title: "Cascading model randomisation: vit_fmnist", subtitle: "n = 8 images",
                                xLabels: steps, xTitle: "randomised down to", yTitle: "Spearman ρ", series: series)
        let elements = try svgElements(svg.text)
        XCTAssertEqual(elements.filter { $0.className == "x-label" }.map(\.text), steps)
        assertTextInside(elements, svg)
        let grid = elements.filter { $0.className == "grid" }
        let (zero, one) = (grid.first { $0.number("data-value") == 0 }!.number("y1")!,
                           grid.first { $0.number("data-value") == 1 }!.number("y1")!)
        for marker in elements where marker.className == "marker" {
            let v = marker.number("data-value")!
            XCTAssertEqual(marker.number("cy")!, zero + v * (one - zero), accuracy: 0.01)
        }
        XCTAssertEqual(elements.filter { $0.className == "legend" }.map(\.text), ["abslrp", "random"])
        let folder = pictureFolder("check")
        defer { if !folder.keep { try? FileManager.default.removeItem(at: folder.url) } }
        try svg.write(to: folder.url.appendingPathComponent("randomisation"))
    }

    func testExtremesBreakTiesByLocalConsistencyAndSayWhenTheyTie() {
        // Six images tie at GAE 0 (contrastiveness 0) with different local consistency.
        var results = Self.results("m", count: 10, lc: 0.8, c: 0.7, spread: 0.2, seed: 3)
        for i in 4..<10 {
            results[i].contrastiveness = 0; results[i].gae = 0; results[i].localConsistency = Float(i) / 20
        }
        let columns = ExtremesFigure.columns(results, k: 3)
        XCTAssertEqual(columns[1].entries.map(\.index), [4, 5, 6], "worst first: lowest LC among the tied")
        XCTAssertEqual(columns[1].note, "6 images tie at GAE 0.000; shown: lowest local consistency, then contrastiveness")
        XCTAssertNil(columns[0].note)
        XCTAssertEqual(columns[0].entries.map(\.gae), results[0..<4].map(\.gae).sorted(by: >).prefix(3).map { $0 })
        let few = ExtremesFigure.columns(Array(results.prefix(5)), k: 4)
        XCTAssertEqual(few[0].entries.count + few[1].entries.count, 5, "no image in both columns")
        XCTAssertTrue(Set(few[0].entries.map(\.index)).isDisjoint(with: few[1].entries.map(\.index)))
    }

    /// Offered one by one, the kept pictures are exactly the ones the figure
    /// shows, whatever the order, ties and count (at most 2k per method).
    func testExtremeMapsKeepExactlyThePositivesTheFigureShows() {
        for (seed, count, k) in [(1, 40, 4), (2, 7, 4), (3, 30, 1), (4, 12, 0), (5, 25, 3)] as [(UInt64, Int, Int)] {
            var results = Self.results("m", count: count, lc: 0.5, c: 0.5, spread: 0.8, seed: seed)
            for i in stride(from: 0, to: count, by: 3) { results[i].gae = 0.25; results[i].localConsistency = 0.5 }  // ties
            let extremes = ExtremeMaps(k: k)
            var asked = 0
            for r in results {
                extremes.offer(r) {
                    asked += 1
                    return ExtremeMaps.Picture(method: r.method, index: r.index, image: RGBImage(width: 1, height: 1, pixels: [0, 0, 0]),
                                               relevance: Tensor(shape: [1, 1]))
                }
            }
            let shown = ExtremesFigure.columns(results, k: k).flatMap(\.entries).map(\.index)
            let kept = results.map(\.index).filter { extremes.picture(method: "m", index: $0) != nil }
            XCTAssertEqual(Set(kept), Set(shown), "seed \(seed), \(count) results, k \(k)")
            XCTAssertLessThanOrEqual(kept.count, 2 * k)
            XCTAssertLessThanOrEqual(asked, count)
        }
    }

    /// The figure is a function of the report, the kept pictures and the
    /// model's configuration (no method, no data set: its signature takes
    /// neither). Its cells are the maps the run scored, exactly (the method
    /// on the batch of positives), and what re-running the method on each
    /// shown image alone gave before: the same de-normalised image, the same
    /// map (measured 0.0 here, at 2 positives per batch; at 4, absLRP's
    /// normalisations can move it by rounding, 4.7e-5 of max|map| once seen).
    func testExtremesFigureIsDrawnFromThePicturesTheRunKept() throws {
        let classifier = Self.classifier
        let methods: [RelevancyMethod] = [AbsLRP(classifier: classifier), Saliency(classifier: classifier)]
        let gae = try GlobalAttributionEvaluation(classifier: classifier, methods: methods,
                                                  configuration: GAEConfiguration(batchSize: 8, steps: 3, seed: 1))
        let extremes = ExtremeMaps(k: 2)
        let report = try gae.run(on: Self.dataset, keeping: extremes)
        let display = try classifier.configuration.preprocessing()
        func batch(_ indices: [Int]) throws -> Tensor {
            Tensor.concatenateBatch(try indices.map { i in
                let image = try Self.dataset.image(at: i).image
                return Tensor(shape: [1] + image.shape, storage: image.storage)
            })
        }
        for method in methods {
            let results = report.results.filter { $0.method == method.name }
            let shown = ExtremesFigure.columns(results, k: 2).flatMap(\.entries)
            XCTAssertEqual(shown.count, 4)
            var largest: Float = 0
            for r in shown {
                let picture = try XCTUnwrap(extremes.picture(method: method.name, index: r.index))
                let image = try Self.dataset.image(at: r.index).image
                XCTAssertEqual(picture.image, RGBImage(tensor: display.denormalize(image)), "\(method.name) #\(r.index)")
                let positives = results.filter { $0.batch == r.batch }
                let m = try XCTUnwrap(positives.firstIndex { $0.index == r.index })
                let scored = try method.finiteRelevance(try batch(positives.map(\.index)), targets: positives.map(\.prediction))
                XCTAssertEqual(picture.relevance.storage,
                               SummedRelevance(scored.batchSlice(m..<(m + 1)).reshaped(image.shape)).values,
                               "\(method.name) #\(r.index): the scored map")
                let alone = SummedRelevance(try method.finiteRelevance(try batch([r.index]), targets: [r.prediction])
                    .reshaped(image.shape))
                let difference = zip(picture.relevance.storage, alone.values).map { abs($0 - $1) }.max()!
                largest = max(largest, difference / alone.maxAbs)
            }
            print("\(method.name): largest difference of a kept map from the map of its image alone, over max|map|: \(largest)")
            XCTAssertLessThan(largest, 1e-5, method.name)
        }
        let first = try ExtremesFigure.svg(report: report, method: "abslrp", pictures: extremes, model: classifier.configuration,
                                           k: 2)
        let again = try ExtremesFigure.svg(report: report, method: "abslrp", pictures: extremes, model: classifier.configuration,
                                           k: 2)
        XCTAssertEqual(first.text, again.text)
        XCTAssertThrowsError(try ExtremesFigure.svg(report: report, method: "abslrp", pictures: ExtremeMaps(k: 1),
                                                    model: classifier.configuration, k: 2)) { error in
            guard case GAEError.missingExtremePicture(method: "abslrp", _, kept: 1) = error else { return XCTFail("\(error)") }
        }
    }

    func testPicturesAreWrittenAsSVGAndPNG() throws {
        let gae = try GlobalAttributionEvaluation(classifier: Self.classifier, methods: [AbsLRP(classifier: Self.classifier)],
                                                  configuration: GAEConfiguration(batchSize: 8, steps: 3, seed: 1))
        let extremes = ExtremeMaps(k: 2)
        let report = try gae.run(on: Self.dataset, keeping: extremes)
        let folder = pictureFolder("gae")
        defer { if !folder.keep { try? FileManager.default.removeItem(at: folder.url) } }
        let pictures = try report.writePictures(to: folder.url, extremes: extremes, model: Self.classifier.configuration, k: 2)
        XCTAssertEqual(pictures.files.map(\.lastPathComponent),
                       ["gae_summary.svg", "gae_summary.png", "gae_extremes_abslrp.svg", "gae_extremes_abslrp.png"])
        let elements = try svgElements(String(contentsOf: pictures.extremes[0].svg, encoding: .utf8))
        XCTAssertEqual(elements.filter { $0.className == "column-title" }.map(\.text),
                       ["highest GAE (best first)", "lowest GAE (worst first)"])
        XCTAssertEqual(elements.filter { $0.className == "cell" }.count, 4)
        XCTAssertEqual(elements.filter { $0.className == "colorbar" }.count, 4, "every map has its colour bar")
        let ranked = ExtremesFigure.ranked(report.results)
        let titles = elements.filter { $0.className == "title" }.map(\.text)
        XCTAssertEqual(titles.dropFirst().first, "#\(ranked[0].index) · GAE \(AxisScale.format(Double(ranked[0].gae), decimals: 3))")
        for file in pictures.files where file.pathExtension == "png" {
            let image = try RGBImage.decode(contentsOf: file)
            XCTAssertGreaterThan(image.width, 300, file.lastPathComponent)
        }
    }
}

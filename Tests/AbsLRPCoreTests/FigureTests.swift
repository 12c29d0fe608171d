import AbsLRPCore
import FigureTesting
import Foundation
import XCTest

/// SVG building, nice axis ticks, librsvg rasterisation and the heatmap figure.
final class FigureTests: XCTestCase {
    func testAxisTicksAreNiceAndCoverTheValues() {
        let a = AxisScale(covering: [0.03, 0.22])
        XCTAssertEqual(a.step, 0.05, accuracy: 1e-12)
        XCTAssertEqual(a.ticks.count, 6)
        XCTAssertEqual(a.ticks.first!, 0, accuracy: 1e-12)
        XCTAssertEqual(a.ticks.last!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(a.ticks.map(a.label), ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"])

        let b = AxisScale(covering: [-0.4, 1.0])
        XCTAssertEqual(b.step, 0.5)
        XCTAssertEqual(b.ticks.map(b.label), ["\u{2212}0.5", "0.0", "0.5", "1.0"])

        let c = AxisScale(covering: [3, 11], including: [])
        XCTAssertEqual(c.step, 2)
        XCTAssertEqual(c.ticks, [2, 4, 6, 8, 10, 12])
        XCTAssertEqual(c.ticks.map(c.label), ["2", "4", "6", "8", "10", "12"])

        let d = AxisScale(covering: [0, 1.2], tickCount: 5)
        XCTAssertEqual(d.step, 0.25)
        XCTAssertEqual(d.decimals, 2)
        XCTAssertEqual(d.upper, 1.25)

        let single = AxisScale(covering: [0.5], including: [])
        XCTAssertLessThan(single.lower, 0.5)
        XCTAssertGreaterThan(single.upper, 0.5)
        XCTAssertEqual(AxisScale(covering: [], including: []).ticks.first, 0)
        XCTAssertEqual(a.position(0.125, from: 100, to: 0), 50, accuracy: 1e-9)
        XCTAssertEqual(AxisScale.format(123456, decimals: 2), "1.23e+05")
        XCTAssertEqual(AxisScale.significant(-0.031234), "\u{2212}0.0312")
    }

    func testSVGEscapesTextAndRasterisesShapes() throws {
        var svg = SVGDocument(width: 40, height: 20)
        svg.rect(x: 0, y: 0, width: 20, height: 20, fill: "#ff0000", class: "left")
        svg.text("a < b & \"c\"", x: 22, y: 15, size: 10, class: "label")
        let elements = try svgElements(svg.text)
        XCTAssertEqual(elements.first { $0.className == "label" }?.text, "a < b & \"c\"")
        let picture = try svg.rasterized()
        XCTAssertEqual([picture.width, picture.height], [40, 20])
        XCTAssertEqual(picture.pixel(10, 10), [255, 0, 0])
        XCTAssertEqual(picture.pixel(39, 0), [255, 255, 255], "white background")
        let doubled = try svg.rasterized(scale: 2)
        XCTAssertEqual([doubled.width, doubled.height], [80, 40])
        XCTAssertEqual(doubled.pixel(30, 30), [255, 0, 0])
    }

    func testEmbeddedImagesKeepTheirPixels() throws {
        let image = RGBImage(width: 2, height: 1, pixels: [10, 20, 30, 200, 100, 0])
        var svg = SVGDocument(width: 20, height: 10)
        try svg.image(image, x: 0, y: 0, scale: 10)
        let picture = try svg.rasterized()
        XCTAssertEqual(picture.pixel(4, 4), [10, 20, 30])
        XCTAssertEqual(picture.pixel(15, 5), [200, 100, 0])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("png-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        try image.pngData().write(to: file)
        XCTAssertEqual(try RGBImage.decode(contentsOf: file), image, "the in-memory PNG decodes to the same pixels")
    }

    func testBadSVGIsAnError() {
        XCTAssertThrowsError(try SVGRasterizer.rasterize("<svg")) { error in
            XCTAssertTrue("\(error)".contains("cannot render the figure"), "\(error)")
        }
        XCTAssertThrowsError(try SVGRasterizer.rasterize("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"))
    }

    static let caption = HeatmapFigure.Caption(imageName: "07_sneaker.png", model: "vit_fmnist", method: "abslrp",
                                               className: "Sneaker", classIndex: 7, probability: 0.98125)

    func testHeatmapFigureHasTitleColourBarAndExtremes() throws {
        // 4x4 input, relevance summing to -2 ... +4 (max |s| = 4).
        let input = RGBImage(width: 4, height: 4, filledWith: (90, 90, 90))
        var values = [Float](repeating: 0, count: 16)
        values[0] = 4; values[15] = -2
        let svg = try HeatmapFigure.svg(input: input, relevance: Tensor(shape: [1, 4, 4], storage: values),
                                        caption: Self.caption)
        let elements = try svgElements(svg.text)
        XCTAssertEqual(elements.first { $0.className == "title" }?.text,
                       "07_sneaker.png · vit_fmnist · abslrp · Sneaker (7), p = 0.981")
        XCTAssertEqual(elements.filter { $0.className == "colorbar-label" }.map(\.text), ["+4", "0", "\u{2212}4"])
        XCTAssertFalse(elements.contains { $0.className == "note" })
        let bar = try XCTUnwrap(elements.first { $0.className == "colorbar" })
        let heat = try XCTUnwrap(elements.first { $0.className == "heatmap" })
        XCTAssertEqual(heat["data-constant"], "false")

        let picture = try svg.rasterized()
        let (bx, by, bh) = (Int(bar.number("x")!), Int(bar.number("y")!), Int(bar.number("height")!))
        XCTAssertEqual(picture.pixel(bx + 7, by), seismic(255), "top of the colour bar: seismic's dark red")
        XCTAssertEqual(picture.pixel(bx + 7, by + bh - 1), seismic(0), "bottom: seismic's dark blue")
        let middle = picture.pixel(bx + 7, by + bh / 2)
        XCTAssertTrue(middle.allSatisfy { $0 > 240 }, "middle of the bar is white, got \(middle)")
        let (hx, hy) = (Int(heat.number("x")!), Int(heat.number("y")!))
        let cell = Int(heat.number("width")!) / 4
        XCTAssertEqual(picture.pixel(hx + cell / 2, hy + cell / 2), seismic(255), "+4 is the top of the scale")
        XCTAssertEqual(picture.pixel(hx + 3 * cell + cell / 2, hy + 3 * cell + cell / 2), seismic(64), "-2 is -0.5")
        for element in elements where element.name == "text" {
            let x = element.number("x")!, width = SVGDocument.textWidth(element.text, size: element.number("font-size")!)
            XCTAssertLessThanOrEqual(x + width, svg.width, "\(element.text) fits")
        }
        let folder = pictureFolder("heatmap")
        defer { if !folder.keep { try? FileManager.default.removeItem(at: folder.url) } }
        try picture.writePNG(to: folder.url.appendingPathComponent("heatmap_figure.png"))
    }

    func testConstantMapIsWhiteAndFlagged() throws {
        let input = RGBImage(width: 4, height: 4, filledWith: (90, 90, 90))
        for constant: Float in [0, 0.25] {
            let relevance = Tensor(shape: [3, 4, 4], storage: [Float](repeating: constant, count: 48))
            XCTAssertTrue(SummedRelevance(relevance).isConstant)
            XCTAssertEqual(Visualization.heatmap(relevance: relevance), RGBImage(width: 4, height: 4, filledWith: (255, 255, 255)))
            let svg = try HeatmapFigure.svg(input: input, relevance: relevance, caption: Self.caption)
            let elements = try svgElements(svg.text)
            XCTAssertEqual(elements.first { $0.className == "note" }?.text, HeatmapFigure.constantMapNote(value: 3 * constant))
            XCTAssertTrue(HeatmapFigure.constantMapNote(value: 0.75).hasPrefix("constant map (every pixel 0.75)"))
            let heat = try XCTUnwrap(elements.first { $0.className == "heatmap" })
            XCTAssertEqual(heat["data-constant"], "true")
            let picture = try svg.rasterized()
            let (hx, hy, side) = (Int(heat.number("x")!), Int(heat.number("y")!), Int(heat.number("width")!))
            for (x, y) in [(hx + 2, hy + 2), (hx + side / 2, hy + side / 2), (hx + side - 3, hy + side - 3)] {
                XCTAssertEqual(picture.pixel(x, y), [255, 255, 255], "a constant map is white")
            }
            let folder = pictureFolder("heatmap")
            defer { if !folder.keep { try? FileManager.default.removeItem(at: folder.url) } }
            try picture.writePNG(to: folder.url.appendingPathComponent("constant_\(constant).png"))
        }
        XCTAssertFalse(SummedRelevance(Tensor(shape: [1, 2], storage: [1, 1.01])).isConstant)
    }

    func testHTMLPageEscapesTextAndEncodesPictureNames() throws {
        var page = HTMLPage(title: "a <b> & c")
        page.table(header: ["x"], rows: [["<td>"]], numeric: [0])
        page.figure("sub dir/07 #1.png", alt: "\"quoted\"")
        let html = page.html
        XCTAssertTrue(html.contains("<h1>a &lt;b&gt; &amp; c</h1>"))
        XCTAssertTrue(html.contains("<td class=\"num\">&lt;td&gt;</td>"))
        XCTAssertTrue(html.contains("<img src=\"sub%20dir/07%20%231.png\" alt=\"&quot;quoted&quot;\">"), html)
        XCTAssertFalse(html.contains("<script"))
    }
}

import AbsLRPCore
import Foundation

/// A line chart of several series over the same categorical x axis (for the
/// sanity checks: Spearman correlation per method against the randomised
/// depth). Each series is a polyline with square markers, coloured from
/// matplotlib's tab10 cycle and named in a legend above the plot; x labels
/// alternate between two rows so long names fit. The y axis runs over
/// `yRange` (default: `min(0, lowest) ... max(1, highest)`), in ticks of 1, 2,
/// 2.5 or 5 times a power of ten.
public enum LineChart {
    /// One named line: a value per x label.
    public struct Series {
        public var name: String
        public var values: [Double]

        public init(name: String, values: [Double]) { self.name = name; self.values = values }
    }

    /// matplotlib's tab10 colours.
    static let palette: [PlotCanvas.Color] = [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    ]

    private static let (margin, plotHeight, slotRange) = (16, 320, 48...120)

    /// Draws `series` (each with `xLabels.count` values) under `title`.
    public static func render(title: String, xLabels: [String], xTitle: String, yTitle: String, series: [Series],
                              yRange: ClosedRange<Double>? = nil) -> RGBImage {
        precondition(series.allSatisfy { $0.values.count == xLabels.count }, "one value per x label")
        let values = series.flatMap(\.values).filter(\.isFinite)
        let range = yRange ?? min(values.min() ?? 0, 0)...max(values.max() ?? 1, 1)
        let step = SummaryChart.tickStep((range.upperBound - range.lowerBound) / 5)
        let (yMin, yMax) = ((range.lowerBound / step).rounded(.down) * step, (range.upperBound / step).rounded(.up) * step)
        let ticks = (0...Int(((yMax - yMin) / step).rounded())).map { yMin + Double($0) * step }
        let tickLabels = ticks.map { SummaryChart.valueText($0, decimals: 2) }

        let slot = min(max((xLabels.map { BitmapFont.width(of: $0) }.max() ?? 0) / 2 + 12, slotRange.lowerBound),
                       slotRange.upperBound)
        let legend = series.map { 20 + BitmapFont.width(of: $0.name, scale: 2) + 24 }
        let legendRows = legendLayout(legend, width: max(xLabels.count * slot, 480))
        let top = 48 + 22 * legendRows.count + 24
        let left = margin + (tickLabels.map { BitmapFont.width(of: $0, scale: 2) }.max() ?? 0) + 12
        let plotWidth = max(xLabels.count, 1) * slot
        func row(_ v: Double) -> Int { top + Int(((yMax - v) / (yMax - yMin) * Double(plotHeight)).rounded()) }
        func column(_ i: Int) -> Int { left + slot / 2 + i * slot }
        let shownLabels = xLabels.map { SummaryChart.fitted($0, width: 2 * slot - 8, scale: 1) }
        let labelsRight = shownLabels.enumerated().map { column($0.offset) + BitmapFont.width(of: $0.element) / 2 }.max() ?? 0
        let width = max(left + plotWidth, labelsRight, BitmapFont.width(of: title, scale: 2) + margin,
                        legendRows.map { $0.reduce(margin) { $0 + legend[$1] } }.max() ?? 0) + margin
        let height = top + plotHeight + 72
        var canvas = PlotCanvas(width: width, height: height)

        canvas.centredText(title, x: width / 2, y: 12, scale: 2)
        for (r, members) in legendRows.enumerated() {
            var x = margin
            for s in members {
                let y = 40 + 22 * r
                canvas.fill(x: x, y: y, width: 14, height: 14, palette[s % palette.count])
                canvas.text(series[s].name, x: x + 20, y: y, scale: 2)
                x += legend[s]
            }
        }
        canvas.text(yTitle, x: margin, y: top - 20, scale: 1, PlotCanvas.gray)
        for (tick, label) in zip(ticks, tickLabels) {
            canvas.horizontalLine(x0: left, x1: left + plotWidth, y: row(tick), PlotCanvas.lightGray)
            canvas.horizontalLine(x0: left - 5, x1: left, y: row(tick), PlotCanvas.black)
            canvas.rightAlignedText(label, x: left - 9, y: row(tick) - 7, scale: 2)
        }
        canvas.verticalLine(x: left, y0: row(yMax), y1: row(yMin), PlotCanvas.black)
        canvas.horizontalLine(x0: left, x1: left + plotWidth, y: row(yMin), PlotCanvas.black)
        if yMin < 0 && yMax > 0 { canvas.horizontalLine(x0: left, x1: left + plotWidth, y: row(0), PlotCanvas.gray) }
        for (i, label) in shownLabels.enumerated() {
            canvas.verticalLine(x: column(i), y0: row(yMin), y1: row(yMin) + 4, PlotCanvas.black)
            canvas.centredText(label, x: column(i), y: row(yMin) + 10 + 12 * (i % 2))
        }
        canvas.centredText(xTitle, x: left + plotWidth / 2, y: height - 24, scale: 2, PlotCanvas.gray)

        for (s, line) in series.enumerated() {
            let color = palette[s % palette.count]
            let points = line.values.enumerated().filter { $0.element.isFinite }.map { (column($0.offset), row($0.element)) }
            for (a, b) in zip(points, points.dropFirst()) { segment(&canvas, from: a, to: b, color) }
            for (x, y) in points { canvas.fill(x: x - 3, y: y - 3, width: 7, height: 7, color) }
        }
        return canvas.image
    }

    /// Legend entries (indices into `widths`) packed into rows of at most `width` pixels.
    private static func legendLayout(_ widths: [Int], width: Int) -> [[Int]] {
        var rows: [[Int]] = [[]], used = 0
        for (i, w) in widths.enumerated() {
            if used + w > width && !rows[rows.count - 1].isEmpty { rows.append([]); used = 0 }
            rows[rows.count - 1].append(i)
            used += w
        }
        return rows
    }

    /// A two-pixel-wide straight line (Bresenham) from `a` to `b`.
    private static func segment(_ canvas: inout PlotCanvas, from a: (Int, Int), to b: (Int, Int), _ color: PlotCanvas.Color) {
        var (x, y) = a
        let (dx, dy) = (abs(b.0 - a.0), -abs(b.1 - a.1))
        let (sx, sy) = (a.0 < b.0 ? 1 : -1, a.1 < b.1 ? 1 : -1)
        var error = dx + dy
        while true {
            canvas.fill(x: x, y: y, width: 2, height: 2, color)
            if (x, y) == b { return }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += sx }
            if doubled <= dx { error += dx; y += sy }
        }
    }
}

import AbsLRPCore
import Foundation

/// The bar chart of a report's summary (the reference's `plot`, with error
/// bars): per method a group of three bars, the means of local consistency,
/// contrastiveness and GAE, each with its 95% confidence interval as an
/// error bar and its value printed above. The y axis runs from
/// `min(0, lowest bound)` to `max(1, highest bound)` in tick steps of
/// 1, 2, 2.5 or 5 times a power of ten.
public enum SummaryChart {
    /// The three plotted scores: name, colour (matplotlib's tab10 blue, orange, green), statistic.
    static let series: [(name: String, color: PlotCanvas.Color, value: (GAEMethodSummary) -> GAEStatistic)] = [
        ("local consistency", (31, 119, 180), { $0.localConsistency }),
        ("contrastiveness", (255, 127, 14), { $0.contrastiveness }),
        ("GAE", (44, 160, 44), { $0.gae }),
    ]

    private static let (barWidth, barGap, groupGap) = (40, 4, 56)
    private static let (margin, top, bottom, plotHeight) = (16, 96, 76, 320)

    /// Draws the chart of `summary` (methods with no results are drawn without bars).
    public static func render(_ summary: [GAEMethodSummary], title: String = "Global Attribution Evaluation") -> RGBImage {
        let statistics = summary.flatMap { s in series.map { $0.value(s) } }
        let highs = statistics.compactMap { $0.ci95High ?? $0.mean }, lows = statistics.compactMap { $0.ci95Low ?? $0.mean }
        let (low, high) = (min(lows.min() ?? 0, 0), max(highs.max() ?? 1, 1))
        let step = tickStep((high - low) / 5)
        let (yMin, yMax) = ((low / step).rounded(.down) * step, (high / step).rounded(.up) * step)
        let ticks = (0...Int(((yMax - yMin) / step).rounded())).map { yMin + Double($0) * step }
        let large = max(abs(yMin), abs(yMax)) >= 1e4
        let tickLabels = ticks.map { large ? String(format: "%.3g", $0) : String(format: "%.2f", $0) }

        let axisWidth = (tickLabels.map { BitmapFont.width(of: $0, scale: 2) }.max() ?? 0) + 12
        let groupWidth = 3 * barWidth + 2 * barGap, slot = groupWidth + groupGap
        let legendWidth = series.reduce(0) { $0 + 20 + BitmapFont.width(of: $1.name, scale: 2) + 28 }
        let needed = axisWidth + summary.count * slot
        let width = max(needed + 2 * margin, margin + legendWidth, BitmapFont.width(of: title, scale: 2) + 2 * margin)
        let left = (width - needed) / 2 + axisWidth
        let height = top + plotHeight + bottom
        var canvas = PlotCanvas(width: width, height: height)
        func row(_ v: Double) -> Int { top + Int(((yMax - v) / (yMax - yMin) * Double(plotHeight)).rounded()) }

        canvas.centredText(title, x: width / 2, y: 12, scale: 2)
        var legendX = margin
        for s in series {
            canvas.fill(x: legendX, y: 40, width: 14, height: 14, s.color)
            canvas.text(s.name, x: legendX + 20, y: 40, scale: 2)
            legendX += 20 + BitmapFont.width(of: s.name, scale: 2) + 28
        }
        canvas.text("mean, 95% CI", x: margin, y: 70, scale: 1, PlotCanvas.gray)

        let plotRight = left + summary.count * slot
        for (tick, label) in zip(ticks, tickLabels) {
            let y = row(tick)
            canvas.horizontalLine(x0: left, x1: plotRight, y: y, PlotCanvas.lightGray)
            canvas.horizontalLine(x0: left - 5, x1: left, y: y, PlotCanvas.black)
            canvas.rightAlignedText(label, x: left - 9, y: y - 7, scale: 2)
        }
        canvas.verticalLine(x: left, y0: row(yMax), y1: row(yMin), PlotCanvas.black)
        canvas.horizontalLine(x0: left, x1: plotRight, y: row(0), PlotCanvas.black)

        for (g, method) in summary.enumerated() {
            let groupLeft = left + g * slot + groupGap / 2
            for (i, s) in series.enumerated() {
                let statistic = s.value(method)
                guard let mean = statistic.mean else { continue }
                let x = groupLeft + i * (barWidth + barGap), centre = x + barWidth / 2
                let (y0, y1) = (row(0), row(mean))
                canvas.fill(x: x, y: min(y0, y1), width: barWidth, height: max(abs(y1 - y0), 1), s.color)
                var labelTop = min(y0, y1)
                if let lo = statistic.ci95Low, let hi = statistic.ci95High {
                    canvas.verticalLine(x: centre, y0: row(lo), y1: row(hi), PlotCanvas.black, thickness: 2)
                    canvas.horizontalLine(x0: centre - 7, x1: centre + 7, y: row(lo), PlotCanvas.black, thickness: 2)
                    canvas.horizontalLine(x0: centre - 7, x1: centre + 7, y: row(hi), PlotCanvas.black, thickness: 2)
                    labelTop = min(labelTop, row(hi))
                }
                canvas.centredText(valueText(mean, decimals: 3), x: centre, y: labelTop - 11)
            }
            let name = fitted(method.method, width: slot - 8, scale: 2)
            canvas.centredText(name, x: groupLeft + groupWidth / 2, y: row(yMin) + 12, scale: 2)
            canvas.centredText("n = \(method.count)", x: groupLeft + groupWidth / 2, y: row(yMin) + 32, scale: 1,
                               PlotCanvas.gray)
        }
        canvas.centredText("method", x: (left + plotRight) / 2, y: height - 22, scale: 2, PlotCanvas.gray)
        return canvas.image
    }

    /// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `raw`.
    static func tickStep(_ raw: Double) -> Double {
        let power = pow(10, (log10(max(raw, 1e-9))).rounded(.down))
        return [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw * (1 - 1e-9) }!
    }

    /// `v` with `decimals` decimals, or in 3 significant digits from 10^4 on.
    static func valueText(_ v: Double, decimals: Int) -> String {
        abs(v) >= 1e4 ? String(format: "%.3g", v) : String(format: "%.\(decimals)f", v)
    }

    /// `text` cut to fit `width` pixels at `scale`, ending in `..` when cut.
    static func fitted(_ text: String, width: Int, scale: Int) -> String {
        let fits = max(width / (BitmapFont.advance * scale), 3)
        return text.count <= fits ? text : String(text.prefix(fits - 2)) + ".."
    }
}

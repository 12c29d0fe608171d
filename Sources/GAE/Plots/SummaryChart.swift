import AbsLRPCore
import Foundation

/// The chart of a GAE report's summary: one panel per score (local
/// consistency, contrastiveness, GAE), each on its own y axis covering 0 and
/// the panel's means and intervals, so small values stay visible. In each
/// panel one bar per method (tab10 colours, the same in every panel): the
/// mean, its 95% confidence interval as an error bar, and the mean printed
/// above. The title names the model, the data set, the methods and `n`.
///
/// Bars carry `class="bar"` with `data-method`, `data-metric` and
/// `data-mean`; error bars `class="ci"`; tick labels `class="tick-label"`
/// with `data-axis` (the metric) and `data-value`.
public enum SummaryChart {
    /// The three plotted scores: name and statistic.
    public static let metrics: [(name: String, value: (GAEMethodSummary) -> GAEStatistic)] = [
        ("local consistency", { $0.localConsistency }),
        ("contrastiveness", { $0.contrastiveness }),
        ("GAE", { $0.gae }),
    ]

    static let (margin, barWidth, barGap, panelGap, plotHeight, angle) = (16.0, 34.0, 14.0, 28.0, 260.0, 30.0)

    /// The chart of `report`'s summary.
    public static func svg(_ report: GAEReport) -> SVGDocument {
        svg(report.summary, model: report.settings.model, dataset: report.settings.datasetTitle,
            images: report.throughput.images)
    }

    /// The chart of `summary` (methods without results are named without bars).
    public static func svg(_ summary: [GAEMethodSummary], model: String, dataset: String, images: Int? = nil) -> SVGDocument {
        let label = 12.0
        let counts = Set(summary.map(\.count))
        let n = counts.count == 1 ? "n = \(counts.first!) positive images per method" : "n per method below its name"
        let title = "GAE of \(summary.map(\.method).joined(separator: ", ")) on \(dataset)"
        let subtitle = "model \(model) · \(n)" + (images.map { " (\($0) images evaluated)" } ?? "")
        let legend = "bars: mean; whiskers: 95% confidence interval; each score on its own axis"
        let names = summary.map { counts.count == 1 ? $0.method : "\($0.method) (n = \($0.count))" }
        let scales = metrics.map { metric -> AxisScale in
            let stats = summary.map { metric.value($0) }
            return AxisScale(covering: stats.flatMap { [$0.mean, $0.ci95Low, $0.ci95High].compactMap { $0 } })
        }
        let plotWidth = max(Double(summary.count), 1) * (barWidth + barGap) + barGap
        let axisWidths = scales.map { ChartStyle.yAxisWidth($0) }
        let firstReach = names.first.map { ChartStyle.rotatedWidth($0, angle: angle, size: label) } ?? 0
        let panelWidths = axisWidths.map { $0 + plotWidth }
        let top = margin + 16 + 2 * (8 + 12) + 10 + label + 10  // title, two subtitle lines, panel titles
        let bottom = top + plotHeight
        let contentWidth = panelWidths.reduce(0, +) + panelGap * Double(metrics.count - 1)
        let left = margin + max(0, firstReach - axisWidths[0] - barGap - barWidth / 2)
        let width = max(left + contentWidth + margin, 2 * margin + SVGDocument.textWidth(title, size: 16),
                        2 * margin + SVGDocument.textWidth(subtitle, size: 12))
        let height = bottom + 10 + ChartStyle.rotatedHeight(names, angle: angle, size: label) + margin
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: margin, y: margin + 16, size: 16, bold: true, class: "title")
        svg.text(subtitle, x: margin, y: margin + 16 + 8 + 12, size: 12, color: ChartStyle.mutedColor, class: "subtitle")
        svg.text(legend, x: margin, y: margin + 16 + 2 * (8 + 12), size: 12, color: ChartStyle.mutedColor, class: "subtitle")

        var panelLeft = left
        for (m, metric) in metrics.enumerated() {
            let scale = scales[m], axisX = panelLeft + axisWidths[m], right = axisX + plotWidth
            svg.text(metric.name, x: axisX + plotWidth / 2, y: top - 10, size: label + 1, anchor: .middle, bold: true,
                     class: "panel-title")
            ChartStyle.yAxis(&svg, scale, x: axisX, top: top, bottom: bottom, right: right, axis: metric.name)
            let zero = scale.position(0, from: bottom, to: top)
            for (i, method) in summary.enumerated() {
                let x = axisX + barGap + Double(i) * (barWidth + barGap), centre = x + barWidth / 2
                if let mean = method.count > 0 ? metric.value(method).mean : nil {
                    let y = scale.position(mean, from: bottom, to: top)
                    svg.rect(x: x, y: min(y, zero), width: barWidth, height: abs(zero - y), fill: ChartStyle.color(i),
                             class: "bar", data: ["method": method.method, "metric": metric.name, "mean": "\(mean)"])
                    var labelY = min(y, zero)
                    let stat = metric.value(method)
                    if let low = stat.ci95Low, let high = stat.ci95High {
                        let (yl, yh) = (scale.position(low, from: bottom, to: top), scale.position(high, from: bottom, to: top))
                        svg.line(x1: centre, y1: yl, x2: centre, y2: yh, stroke: "#000", width: 1.5, class: "ci",
                                 data: ["method": method.method, "metric": metric.name, "low": "\(low)", "high": "\(high)"])
                        svg.line(x1: centre - 6, y1: yl, x2: centre + 6, y2: yl, stroke: "#000", width: 1.5)
                        svg.line(x1: centre - 6, y1: yh, x2: centre + 6, y2: yh, stroke: "#000", width: 1.5)
                        labelY = min(labelY, yh)
                    }
                    svg.text(AxisScale.format(mean, decimals: 3), x: centre, y: labelY - 4, size: 10, anchor: .middle,
                             class: "value")
                }
                svg.text(names[i], x: centre + 4, y: bottom + 8 + label * 0.7, size: label, anchor: .end,
                         rotation: -angle, class: "x-label")
            }
            svg.line(x1: axisX, y1: zero, x2: right, y2: zero, stroke: ChartStyle.axisColor, class: "axis")
            panelLeft += panelWidths[m] + panelGap
        }
        return svg
    }
}

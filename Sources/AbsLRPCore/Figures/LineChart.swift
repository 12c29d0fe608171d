import Foundation

/// A line chart of several series over one categorical x axis (the sanity
/// checks: Spearman correlation per method against the randomised depth).
/// Each series is a polyline with round markers in the tab10 cycle, named in
/// a legend right of the plot. X labels are rotated 40° and end at their
/// tick, so long layer names never run off the picture; the y axis is an
/// ``AxisScale`` over `yRange` (default: the values, 0 and 1).
public enum LineChart {
    /// One named line: a value per x label (NaN for a gap).
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]

        public init(name: String, values: [Double]) { self.name = name; self.values = values }
    }

    static let (margin, plotHeight, slot, angle) = (16.0, 300.0, 34.0, 40.0)

    /// The chart of `series` (each with `xLabels.count` values).
    public static func svg(title: String, subtitle: String? = nil, xLabels: [String], xTitle: String, yTitle: String,
                           series: [Series], yRange: ClosedRange<Double>? = nil) -> SVGDocument {
        precondition(series.allSatisfy { $0.values.count == xLabels.count }, "one value per x label")
        let s = ChartStyle.self
        let values = series.flatMap(\.values)
        let scale = yRange.map { AxisScale(covering: [$0.lowerBound, $0.upperBound], including: []) }
            ?? AxisScale(covering: values, including: [0, 1])
        let plotWidth = max(Double(xLabels.count), 1) * slot
        // Room for the y title (rotated), the tick labels, and the first rotated x label reaching left.
        let firstReach = xLabels.first.map { s.rotatedWidth($0, angle: angle, size: s.tickSize) } ?? 0
        let left = margin + s.labelSize + 8 + max(s.yAxisWidth(scale), firstReach - slot / 2)
        let top = margin + s.titleSize + 14 + (subtitle == nil ? 0 : s.subtitleSize + 12)
        let bottom = top + plotHeight
        let legendWidth = (series.map { SVGDocument.textWidth($0.name, size: s.labelSize) }.max() ?? 0) + 34
        let width = max(left + plotWidth + 20 + legendWidth + margin,
                        margin * 2 + SVGDocument.textWidth(title, size: s.titleSize),
                        margin * 2 + SVGDocument.textWidth(subtitle ?? "", size: s.subtitleSize))
        let xLabelHeight = s.rotatedHeight(xLabels, angle: angle, size: s.tickSize)
        let height = bottom + 8 + xLabelHeight + 10 + s.labelSize + margin
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: margin, y: margin + s.titleSize, size: s.titleSize, bold: true, class: "title")
        if let subtitle {
            svg.text(subtitle, x: margin, y: margin + s.titleSize + 8 + s.subtitleSize, size: s.subtitleSize, color: s.mutedColor, class: "subtitle")
        }
        s.yAxis(&svg, scale, x: left, top: top, bottom: bottom, right: left + plotWidth, axis: "y")
        if scale.lower < 0 && scale.upper > 0 {
            let y0 = scale.position(0, from: bottom, to: top)
            svg.line(x1: left, y1: y0, x2: left + plotWidth, y2: y0, stroke: "#888", class: "zero")
        }
        svg.line(x1: left, y1: bottom, x2: left + plotWidth, y2: bottom, stroke: s.axisColor, class: "axis")
        let centre = { (i: Int) in left + slot / 2 + Double(i) * slot }
        for (i, label) in xLabels.enumerated() {
            svg.line(x1: centre(i), y1: bottom, x2: centre(i), y2: bottom + 4, stroke: s.axisColor)
            svg.text(label, x: centre(i) + 3, y: bottom + 8 + s.tickSize * 0.7, size: s.tickSize, anchor: .end,
                     rotation: -angle, class: "x-label")
        }
        svg.text(xTitle, x: left + plotWidth / 2, y: height - margin, size: s.labelSize, anchor: .middle,
                 color: s.mutedColor, class: "x-title")
        let yMiddle = (top + bottom) / 2
        svg.text(yTitle, x: margin + s.labelSize, y: yMiddle, size: s.labelSize, anchor: .middle, color: s.mutedColor,
                 rotation: -90, class: "y-title")
        for (k, line) in series.enumerated() {
            let color = s.color(k)
            let points = line.values.enumerated().filter { $0.element.isFinite }
                .map { (x: centre($0.offset), y: scale.position($0.element, from: bottom, to: top)) }
            svg.polyline(points, stroke: color, class: "series", data: ["series": line.name])
            for (p, (i, v)) in zip(points, line.values.enumerated().filter { $0.element.isFinite }) {
                svg.circle(cx: p.x, cy: p.y, r: 3.5, fill: color, class: "marker",
                           data: ["series": line.name, "step": xLabels[i], "value": "\(v)"])
            }
            let ly = top + 8 + Double(k) * (s.labelSize + 8), lx = left + plotWidth + 20
            svg.line(x1: lx, y1: ly - 4, x2: lx + 22, y2: ly - 4, stroke: color, width: 2)
            svg.circle(cx: lx + 11, cy: ly - 4, r: 3.5, fill: color)
            svg.text(line.name, x: lx + 28, y: ly, size: s.labelSize, class: "legend")
        }
        return svg
    }
}

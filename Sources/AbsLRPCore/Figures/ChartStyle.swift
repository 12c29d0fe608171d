import Foundation

/// Colours and sizes every chart shares.
public enum ChartStyle {
    /// matplotlib's tab10 colours, the cycle of series and methods.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    /// The colour of series `i`.
    public static func color(_ i: Int) -> String { palette[i % palette.count] }

    public static let titleSize = 16.0, subtitleSize = 12.0, labelSize = 12.0, tickSize = 11.0
    public static let axisColor = "#222", gridColor = "#ddd", mutedColor = "#555"

    /// Draws the y axis of `scale` from `bottom` to `top` at `x`: ticks,
    /// tick labels (class `tick-label`, `data-value`), light grid lines to
    /// `right`, and the axis line.
    public static func yAxis(_ svg: inout SVGDocument, _ scale: AxisScale, x: Double, top: Double, bottom: Double,
                      right: Double, axis: String) {
        for tick in scale.ticks {
            let y = scale.position(tick, from: bottom, to: top)
            svg.line(x1: x, y1: y, x2: right, y2: y, stroke: gridColor, class: "grid", data: ["axis": axis, "value": "\(tick)"])
            svg.line(x1: x - 4, y1: y, x2: x, y2: y, stroke: axisColor)
            svg.text(scale.label(tick), x: x - 6, y: y + tickSize * 0.35, size: tickSize, anchor: .end,
                     class: "tick-label", data: ["axis": axis, "value": "\(tick)"])
        }
        svg.line(x1: x, y1: top, x2: x, y2: bottom, stroke: axisColor, class: "axis")
    }

    /// Room the tick labels of `scale` take left of the axis.
    public static func yAxisWidth(_ scale: AxisScale) -> Double {
        (scale.ticks.map { SVGDocument.textWidth(scale.label($0), size: tickSize) }.max() ?? 0) + 10
    }

    /// Vertical room of category labels rotated by `angle` degrees (of at most `size` points).
    public static func rotatedHeight(_ labels: [String], angle: Double, size: Double) -> Double {
        let longest = labels.map { SVGDocument.textWidth($0, size: size) }.max() ?? 0
        return longest * sin(angle * .pi / 180) + size
    }

    /// Horizontal room rotated category labels reach left of their anchor.
    public static func rotatedWidth(_ label: String, angle: Double, size: Double) -> Double {
        SVGDocument.textWidth(label, size: size) * cos(angle * .pi / 180)
    }
}

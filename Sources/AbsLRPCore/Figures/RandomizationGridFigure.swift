import Foundation

/// Adebayo et al.'s figure of cascading model randomisation ("Sanity Checks
/// for Saliency Maps", 2018, figure 2) for one image: the image, then one
/// row per method and one column per step (the trained model first, then
/// the model randomised from the output down to each group), each cell the
/// method's seismic heatmap on its own scale (`±max|s|` of that cell) and,
/// under it, the Spearman correlation of its |relevance| with the first
/// column's (this image only). A method that
/// explains the model loses its structure from left to right. Constant maps
/// are white and marked "constant".
public enum RandomizationGridFigure {
    static let (margin, cell, gap, angle) = (16.0, 64, 6.0, 45.0)

    /// The figure.
    /// - Parameters:
    ///   - maps: `maps[method][step]`, each (C, H, W) of `image`'s size.
    ///   - spearman: `spearman[method][step]`, shown under the cells when given.
    public static func svg(image: RGBImage, imageName: String, model: String, steps: [String], methods: [String],
                           maps: [[Tensor]], spearman: [[Double]]? = nil) throws -> SVGDocument {
        precondition(maps.count == methods.count && maps.allSatisfy { $0.count == steps.count }, "one map per method and step")
        let s = ChartStyle.self
        let title = "Cascading randomisation of \(model): \(imageName)"
        let subtitle = "rows: methods · columns: trained model, then randomised from the output down to each layer · "
            + "each map on its own seismic scale"
        let labelWidth = (methods.map { SVGDocument.textWidth($0, size: s.labelSize) }.max() ?? 0) + 10
        let headers = ["input"] + steps.enumerated().map { $0.offset == 0 && $0.element == "none" ? "trained" : $0.element }
        let headerHeight = s.rotatedHeight(headers, angle: angle, size: s.tickSize) + 6
        let top = margin + s.titleSize + 8 + s.subtitleSize + 12 + headerHeight
        let shown = fitted(image)
        let side = Double(max(shown.image.width, shown.image.height) * shown.scale), rowHeight = side + (spearman == nil ? gap : s.tickSize + 8)
        let left = margin + labelWidth
        let barX = left + Double(headers.count) * (side + gap) + 8
        let width = max(barX + 14 + 60, 2 * margin + SVGDocument.textWidth(title, size: s.titleSize),
                        2 * margin + SVGDocument.textWidth(subtitle, size: s.subtitleSize))
        let height = top + Double(methods.count) * rowHeight + margin
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: margin, y: margin + s.titleSize, size: s.titleSize, bold: true, class: "title")
        svg.text(subtitle, x: margin, y: margin + s.titleSize + 8 + s.subtitleSize, size: s.subtitleSize,
                 color: s.mutedColor, class: "subtitle")
        for (c, header) in headers.enumerated() {
            let x = left + Double(c) * (side + gap) + side / 2
            svg.text(header, x: x, y: top - 6, size: s.tickSize, rotation: -angle, class: "column-label")
        }
        for (r, method) in methods.enumerated() {
            let y = top + Double(r) * rowHeight
            svg.text(method, x: left - 10, y: y + side / 2 + s.labelSize * 0.35, size: s.labelSize, anchor: .end,
                     class: "row-label")
            try svg.image(shown.image, x: left, y: y, scale: shown.scale, class: "input")
            for (c, map) in maps[r].enumerated() {
                let x = left + Double(c + 1) * (side + gap)
                let summed = SummedRelevance(map)
                let heat = fitted(Visualization.heatmap(summed))
                try svg.image(heat.image, x: x, y: y, scale: heat.scale, class: "cell",
                              data: ["method": method, "step": steps[c], "constant": summed.isConstant ? "true" : "false"])
                HeatmapFigure.frame(&svg, x: x, y: y, width: side, height: side)
                if summed.isConstant {
                    svg.text("constant", x: x + side / 2, y: y + side / 2 + 4, size: 10, anchor: .middle,
                             color: s.mutedColor, class: "constant")
                }
                if let value = spearman?[r][c] {
                    svg.text("ρ " + AxisScale.format(value, decimals: 2), x: x + side / 2, y: y + side + s.tickSize + 2,
                             size: s.tickSize - 1, anchor: .middle, color: s.mutedColor, class: "spearman")
                }
            }
        }
        try HeatmapFigure.colorBar(&svg, x: barX, y: top, height: side * 2, labels: ["+max", "0", "\u{2212}max"])
        return svg
    }

    /// `image` at the cell size: enlarged by a whole factor when small,
    /// resampled down when larger; returns the picture and its embedding scale.
    static func fitted(_ image: RGBImage) -> (image: RGBImage, scale: Int) {
        let longer = max(image.width, image.height, 1)
        if longer <= cell { return (image, max(1, cell / longer)) }
        return (HeatmapFigure.resampled(image, width: image.width * cell / longer, height: image.height * cell / longer), 1)
    }
}

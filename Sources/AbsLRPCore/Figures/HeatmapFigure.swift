import Foundation

/// The picture of one explanation, as a paper would print it:
///
///     07_sneaker.png · vit_fmnist · abslrp · Sneaker (7), p = 0.981     <- title line
///     [input]   [heatmap]  [colour bar]  +3.1e-02
///                                         0
///                                        −3.1e-02
///     input      relevance (sum over channels)
///
/// The heatmap is ``Visualization/heatmap(_:colormap:)`` (seismic on
/// `[-max|s|, +max|s|]`, white at 0); the colour bar shows the scale with
/// its extremes and zero labelled. A constant map is drawn white and
/// flagged under the pictures ("constant map: ..."). With `overlay` the
/// heatmap is blended over the input in one panel.
public enum HeatmapFigure {
    /// What the title line names.
    public struct Caption: Equatable, Sendable {
        public var imageName: String
        public var model: String
        public var method: String
        public var className: String
        public var classIndex: Int
        /// The model's softmax probability of the explained class.
        public var probability: Float?

        public init(imageName: String, model: String, method: String, className: String, classIndex: Int,
                    probability: Float?) {
            self.imageName = imageName; self.model = model; self.method = method
            self.className = className; self.classIndex = classIndex; self.probability = probability
        }

        /// `image · model · method · class (index), p = 0.981`.
        public var title: String {
            "\(imageName) · \(model) · \(method) · \(className) (\(classIndex))"
                + (probability.map { String(format: ", p = %.3f", $0) } ?? "")
        }
    }

    /// The flag written under a constant map whose pixels all equal `value`.
    public static func constantMapNote(value: Float) -> String {
        "constant map (every pixel \(AxisScale.significant(Double(value)))): the method cannot localise here; drawn white"
    }

    static let (margin, gap, titleSize, labelSize, barWidth) = (12.0, 10.0, 14.0, 11.0, 14.0)

    /// The figure of `input` (an RGB picture of the model input) and
    /// `relevance` (C, H, W) or (H, W) of the same height and width, titled
    /// by `caption`. Pictures are enlarged by a whole factor to at least 224
    /// pixels on their longer side.
    public static func svg(input: RGBImage, relevance: Tensor, caption: Caption, overlay: Bool = false) throws -> SVGDocument {
        try svg(input: input, relevance: relevance, title: caption.title, overlay: overlay)
    }

    /// The figure with a free `title` and optional `subtitle` lines, and
    /// pictures enlarged to at least `side` pixels (for figures of figures).
    public static func svg(input: RGBImage, relevance: Tensor, title: String, subtitle: [String] = [],
                           overlay: Bool = false, side: Int = 224) throws -> SVGDocument {
        let map = SummedRelevance(relevance)
        precondition(map.width == input.width && map.height == input.height,
                     "relevance \(map.width)x\(map.height) and image \(input.width)x\(input.height) differ")
        let heat = Visualization.heatmap(map)
        let scale = max(1, side / max(input.width, input.height, 1))
        let (w, h) = (Double(input.width * scale), Double(input.height * scale))
        let extremes = ["+" + AxisScale.significant(Double(map.maxAbs)), "0", AxisScale.significant(-Double(map.maxAbs))]
        let barLabelWidth = extremes.map { SVGDocument.textWidth($0, size: labelSize) }.max()!
        let panels = overlay ? 1.0 : 2.0
        let contentWidth = panels * w + (panels - 1) * gap + gap + barWidth + 6 + barLabelWidth
        let notes = map.isConstant ? [constantMapNote(value: map.values.first ?? 0)] : []
        let width = 2 * margin + max(contentWidth, SVGDocument.textWidth(title, size: titleSize),
                                     (notes + subtitle).map { SVGDocument.textWidth($0, size: labelSize) }.max() ?? 0)
        let top = margin + titleSize + 10 + Double(subtitle.count) * (labelSize + 5)
        let height = top + h + 8 + labelSize + Double(notes.count) * (labelSize + 6) + margin
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: margin, y: margin + titleSize, size: titleSize, bold: true, class: "title")
        for (i, line) in subtitle.enumerated() {
            svg.text(line, x: margin, y: margin + titleSize + Double(i + 1) * (labelSize + 5), size: labelSize,
                     color: "#333", class: "subtitle")
        }

        var x = margin
        if overlay {
            let image = Visualization.overlay(image: input, heatmap: heat)
            try svg.image(image, x: x, y: top, scale: scale, class: "overlay")
            frame(&svg, x: x, y: top, width: w, height: h)
            svg.text("relevance over the input", x: x, y: top + h + 8 + labelSize, size: labelSize, class: "panel-label")
        } else {
            try svg.image(input, x: x, y: top, scale: scale, class: "input")
            frame(&svg, x: x, y: top, width: w, height: h)
            svg.text("input", x: x, y: top + h + 8 + labelSize, size: labelSize, class: "panel-label")
            x += w + gap
            try svg.image(heat, x: x, y: top, scale: scale, class: "heatmap",
                          data: ["constant": map.isConstant ? "true" : "false"])
            frame(&svg, x: x, y: top, width: w, height: h)
            svg.text("relevance (sum over channels)", x: x, y: top + h + 8 + labelSize, size: labelSize,
                     class: "panel-label")
        }
        x += w + gap
        try colorBar(&svg, x: x, y: top, height: h, labels: extremes)
        for (i, note) in notes.enumerated() {
            svg.text(note, x: margin, y: top + h + 8 + labelSize + Double(i + 1) * (labelSize + 6), size: labelSize,
                     color: "#b00", class: "note")
        }
        return svg
    }

    /// The seismic scale from `labels[2]` (bottom, dark blue) through
    /// `labels[1]` (middle, white) to `labels[0]` (top, dark red).
    static func colorBar(_ svg: inout SVGDocument, x: Double, y: Double, height: Double, labels: [String]) throws {
        let rows = Colormap.size
        var pixels = [UInt8](repeating: 0, count: rows * 3)
        for row in 0..<rows {
            let entry = rows - 1 - row
            pixels[(3 * row)..<(3 * row + 3)] = Colormap.seismic.table[(3 * entry)..<(3 * entry + 3)]
        }
        // Each table entry a block of whole pixels: bar height is a multiple of 256 / k.
        let column = RGBImage(width: 1, height: rows, pixels: pixels)
        let bar = resampled(column, width: Int(barWidth), height: Int(height))
        try svg.image(bar, x: x, y: y, class: "colorbar",
                      data: ["max": labels[0], "min": labels[2]])
        frame(&svg, x: x, y: y, width: barWidth, height: height, color: "#444")
        for (label, fraction) in zip(labels, [0.0, 0.5, 1.0]) {
            let ty = y + fraction * height
            svg.line(x1: x + barWidth + 0.5, y1: ty, x2: x + barWidth + 4, y2: ty, stroke: "#444")
            svg.text(label, x: x + barWidth + 6, y: ty + labelSize * (fraction == 0 ? 0.8 : fraction == 1 ? 0 : 0.35),
                     size: labelSize, class: "colorbar-label")
        }
    }

    /// A one-pixel frame just outside a picture, so its own pixels keep their colours.
    static func frame(_ svg: inout SVGDocument, x: Double, y: Double, width: Double, height: Double,
                      color: String = "#bbb") {
        svg.rect(x: x - 0.5, y: y - 0.5, width: width + 1, height: height + 1, fill: "none", stroke: color)
    }

    /// Nearest-neighbour resampling of `image` to `width` x `height` that
    /// maps first to first and last to last row and column (so a colour
    /// bar's end rows are the table's ends).
    static func resampled(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        func source(_ i: Int, _ count: Int, _ sourceCount: Int) -> Int {
            count <= 1 ? 0 : (i * (sourceCount - 1) + (count - 1) / 2) / (count - 1)
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sy = source(y, height, image.height)
            for x in 0..<width {
                let sx = source(x, width, image.width)
                let s = 3 * (sy * image.width + sx), d = 3 * (y * width + x)
                out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

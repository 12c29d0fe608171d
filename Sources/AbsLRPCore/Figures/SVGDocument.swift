import Foundation

/// An SVG picture built element by element, text kept as text.
///
/// Coordinates are SVG user units (one unit = one pixel when rasterised at
/// scale 1), origin top-left, y downwards. Every element may carry a `class`
/// and `data-*` attributes, so that tests and readers of the file can find a
/// chart's bars, ticks and labels by name. Text is set in DejaVu Sans
/// (installed with the project's dependencies), falling back to any sans-serif.
public struct SVGDocument: Sendable {
    public let width: Double
    public let height: Double
    private var body: [String] = []

    /// The font of every text element.
    public static let fontFamily = "DejaVu Sans, Liberation Sans, sans-serif"

    public init(width: Double, height: Double) {
        precondition(width > 0 && height > 0, "an SVG needs a positive size, got \(width)x\(height)")
        self.width = width.rounded(.up)
        self.height = height.rounded(.up)
    }

    /// Horizontal placement of text relative to its x coordinate.
    public enum Anchor: String, Sendable { case start, middle, end }

    /// An estimate of the width of `text` at `size` in DejaVu Sans, on the
    /// safe side (0.62 em per character; the font's average is about 0.55),
    /// used to reserve room for labels so that none is clipped.
    public static func textWidth(_ text: String, size: Double) -> Double {
        Double(text.count) * 0.62 * size
    }

    /// `text` with its baseline at `y`; rotated by `rotation` degrees
    /// (clockwise, about its anchor point) when nonzero.
    public mutating func text(_ text: String, x: Double, y: Double, size: Double, anchor: Anchor = .start,
                              bold: Bool = false, color: String = "#000", rotation: Double = 0,
                              class className: String? = nil, data: [String: String] = [:]) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
                          ("text-anchor", anchor.rawValue), ("fill", color)]
        if bold { attributes.append(("font-weight", "bold")) }
        if rotation != 0 {
            attributes.append(("transform", "rotate(\(Self.number(rotation)) \(Self.number(x)) \(Self.number(y)))"))
        }
        append("text", attributes, className: className, data: data, content: Self.escaped(text))
    }

    /// A rectangle, filled and optionally outlined.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                              stroke: String? = nil, strokeWidth: Double = 1,
                              class className: String? = nil, data: [String: String] = [:]) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(max(width, 0))),
                          ("height", Self.number(max(height, 0))), ("fill", fill)]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", Self.number(strokeWidth))] }
        append("rect", attributes, className: className, data: data)
    }

    /// A straight line.
    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                              dashed: Bool = false, class className: String? = nil, data: [String: String] = [:]) {
        var attributes = [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)),
                          ("y2", Self.number(y2)), ("stroke", stroke), ("stroke-width", Self.number(width))]
        if dashed { attributes.append(("stroke-dasharray", "4 3")) }
        append("line", attributes, className: className, data: data)
    }

    /// An open polyline through `points`.
    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 2,
                                  class className: String? = nil, data: [String: String] = [:]) {
        let list = points.map { "\(Self.number($0.x)),\(Self.number($0.y))" }.joined(separator: " ")
        append("polyline", [("points", list), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                            ("stroke-linejoin", "round")], className: className, data: data)
    }

    /// A circle.
    public mutating func circle(cx: Double, cy: Double, r: Double, fill: String,
                                class className: String? = nil, data: [String: String] = [:]) {
        append("circle", [("cx", Self.number(cx)), ("cy", Self.number(cy)), ("r", Self.number(r)), ("fill", fill)],
               className: className, data: data)
    }

    /// A raster picture embedded as a base64 PNG with its top-left corner at
    /// (x, y), each pixel enlarged to a `scale` x `scale` block before
    /// embedding, so that renderers never smooth a small input shown large.
    public mutating func image(_ picture: RGBImage, x: Double, y: Double, scale: Int = 1,
                               class className: String? = nil, data: [String: String] = [:]) throws {
        let shown = picture.enlarged(by: scale)
        let png = try shown.pngData()
        append("image", [("x", Self.number(x)), ("y", Self.number(y)), ("width", "\(shown.width)"),
                         ("height", "\(shown.height)"), ("preserveAspectRatio", "none"),
                         ("xlink:href", "data:image/png;base64," + png.base64EncodedString())],
               className: className, data: data)
    }

    /// The elements of `other` (its background excluded), moved by (x, y):
    /// how a figure is made of smaller figures.
    public mutating func include(_ other: SVGDocument, x: Double, y: Double, class className: String? = nil) {
        body.append("<g transform=\"translate(\(Self.number(x)) \(Self.number(y)))\""
                    + (className.map { " class=\"\(Self.escaped($0))\"" } ?? "") + ">")
        body += other.body
        body.append("</g>")
    }

    /// The document's text: an SVG 1.1 file with a white background.
    public var text: String {
        let (w, h) = (Self.number(width), Self.number(height))
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" \
            width="\(w)" height="\(h)" viewBox="0 0 \(w) \(h)" font-family="\(Self.fontFamily)">
            <rect x="0" y="0" width="\(w)" height="\(h)" fill="#fff"/>

            """ + body.joined(separator: "\n") + "\n</svg>\n"
    }

    /// Rasterises the document with librsvg (``SVGRasterizer``).
    public func rasterized(scale: Double = 1) throws -> RGBImage {
        try SVGRasterizer.rasterize(text, scale: scale)
    }

    /// Writes the document as `<base>.svg` and its rasterisation as
    /// `<base>.png` (each whole: a temporary file renamed into place).
    /// - Returns: the two files.
    @discardableResult
    public func write(to base: URL) throws -> (svg: URL, png: URL) {
        let svg = base.appendingPathExtension("svg"), png = base.appendingPathExtension("png")
        try AtomicFile.write(Data(text.utf8), to: svg)
        try rasterized().writePNG(to: png)
        return (svg, png)
    }

    private mutating func append(_ name: String, _ attributes: [(String, String)], className: String?,
                                 data: [String: String], content: String? = nil) {
        var all = attributes
        if let className { all.append(("class", className)) }
        all += data.sorted { $0.key < $1.key }.map { ("data-\($0.key)", $0.value) }
        let list = all.map { " \($0.0)=\"\(Self.escaped($0.1))\"" }.joined()
        body.append(content.map { "<\(name)\(list)>\($0)</\(name)>" } ?? "<\(name)\(list)/>")
    }

    /// `v` with at most two decimals, no trailing zeros.
    static func number(_ v: Double) -> String {
        let rounded = (v * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
            .replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }

    /// `s` with XML's special characters escaped.
    public static func escaped(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension RGBImage {
    /// The image with each pixel repeated into a `factor` x `factor` block.
    public func enlarged(by factor: Int) -> RGBImage {
        precondition(factor >= 1, "factor must be at least 1")
        guard factor > 1 else { return self }
        let w = width * factor, h = height * factor
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let s = 3 * ((y / factor) * width + x / factor), d = 3 * (y * w + x)
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}

import AbsLRPCore

/// An RGB raster to draw plots on: filled rectangles, one-pixel lines along
/// the axes, text in ``BitmapFont``, pasted images. Coordinates are pixels,
/// (0, 0) top-left; whatever falls outside is clipped.
struct PlotCanvas {
    typealias Color = (r: UInt8, g: UInt8, b: UInt8)

    static let white: Color = (255, 255, 255)
    static let black: Color = (0, 0, 0)
    static let gray: Color = (128, 128, 128)
    static let lightGray: Color = (225, 225, 225)

    private(set) var image: RGBImage

    init(width: Int, height: Int, background: Color = white) {
        image = RGBImage(width: width, height: height, filledWith: background)
    }

    var width: Int { image.width }
    var height: Int { image.height }

    /// Fills columns `x ..< x + w`, rows `y ..< y + h`.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: Color) {
        let (x0, x1) = (max(x, 0), min(x + w, width)), (y0, y1) = (max(y, 0), min(y + h, height))
        guard x0 < x1, y0 < y1 else { return }
        let canvasWidth = width
        image.pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                for column in x0..<x1 {
                    let i = 3 * (row * canvasWidth + column)
                    p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b
                }
            }
        }
    }

    /// A horizontal line from `x0` to `x1` (inclusive) at row `y`.
    mutating func horizontalLine(x0: Int, x1: Int, y: Int, _ color: Color, thickness: Int = 1) {
        fill(x: min(x0, x1), y: y - thickness / 2, width: abs(x1 - x0) + 1, height: thickness, color)
    }

    /// A vertical line from `y0` to `y1` (inclusive) at column `x`.
    mutating func verticalLine(x: Int, y0: Int, y1: Int, _ color: Color, thickness: Int = 1) {
        fill(x: x - thickness / 2, y: min(y0, y1), width: thickness, height: abs(y1 - y0) + 1, color)
    }

    /// `text` with its top-left corner at (x, y), each font pixel a `scale`x`scale` block.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, _ color: Color = black) {
        for (n, character) in text.enumerated() {
            let left = x + n * BitmapFont.advance * scale
            for (column, bits) in BitmapFont.glyph(character).enumerated() {
                for row in 0..<BitmapFont.glyphHeight where bits & (1 << row) != 0 {
                    fill(x: left + column * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
        }
    }

    /// `text` horizontally centred on column `x`.
    mutating func centredText(_ text: String, x: Int, y: Int, scale: Int = 1, _ color: Color = black) {
        self.text(text, x: x - BitmapFont.width(of: text, scale: scale) / 2, y: y, scale: scale, color)
    }

    /// `text` ending at column `x` (right-aligned).
    mutating func rightAlignedText(_ text: String, x: Int, y: Int, scale: Int = 1, _ color: Color = black) {
        self.text(text, x: x - BitmapFont.width(of: text, scale: scale), y: y, scale: scale, color)
    }

    /// Copies `source` with its top-left corner at (x, y).
    mutating func paste(_ source: RGBImage, x: Int, y: Int) {
        let canvasWidth = width, canvasHeight = height
        source.pixels.withUnsafeBufferPointer { s in
            image.pixels.withUnsafeMutableBufferPointer { d in
                for row in 0..<source.height where (0..<canvasHeight).contains(y + row) {
                    for column in 0..<source.width where (0..<canvasWidth).contains(x + column) {
                        let from = 3 * (row * source.width + column), to = 3 * ((y + row) * canvasWidth + x + column)
                        d[to] = s[from]; d[to + 1] = s[from + 1]; d[to + 2] = s[from + 2]
                    }
                }
            }
        }
    }
}

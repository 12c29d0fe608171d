/// A 256-entry colour lookup table, sampled as matplotlib samples a
/// `LinearSegmentedColormap` and read as `Colormap.__call__(x, bytes=True)` reads it.
public struct Colormap: Sendable {
    /// Number of entries (matplotlib's default `N`).
    public static let size = 256
    /// `size * 3` bytes, entry `i` at `[3i, 3i + 2]`.
    public let table: [UInt8]

    /// A colormap through `colors` (RGB in [0, 1]) placed evenly on [0, 1],
    /// like `LinearSegmentedColormap.from_list(name, colors, N=256)`: entry
    /// `i` interpolates linearly at `i / 255`, and each channel is stored as
    /// `UInt8(value * 255)` (truncated, matplotlib's `bytes=True`). The float
    /// steps follow matplotlib's `_create_lookup_table` (positions scaled by
    /// `N - 1` before interpolating), because truncation exposes the last bit.
    public init(evenlySpaced colors: [(Double, Double, Double)]) {
        precondition(colors.count >= 2, "a colormap needs at least two colours")
        let last = Double(Colormap.size - 1)
        // x = np.linspace(0, 1, n) * (N - 1): node positions on the index scale.
        let nodes = (0..<colors.count).map { k -> Double in
            k == colors.count - 1 ? last : Double(k) * (1.0 / Double(colors.count - 1)) * last
        }
        var table = [UInt8](repeating: 0, count: Colormap.size * 3)
        for i in 0..<Colormap.size {
            let value: (Double, Double, Double)
            if i == 0 {
                value = colors[0]
            } else if i == Colormap.size - 1 {
                value = colors[colors.count - 1]
            } else {
                let x = last * (Double(i) * (1.0 / last))  // (N - 1) * np.linspace(0, 1, N)
                // np.searchsorted(nodes, x) - 1: the last node strictly below x.
                let k = nodes.lastIndex { $0 < x }!
                let distance = (x - nodes[k]) / (nodes[k + 1] - nodes[k])
                let a = colors[k], b = colors[k + 1]
                value = (distance * (b.0 - a.0) + a.0, distance * (b.1 - a.1) + a.1, distance * (b.2 - a.2) + a.2)
            }
            for (c, v) in [value.0, value.1, value.2].enumerated() {
                table[3 * i + c] = UInt8(min(max(v, 0), 1) * 255)
            }
        }
        self.table = table
    }

    /// matplotlib's `seismic`: dark blue (0, 0, 0.3) -> blue -> white -> red ->
    /// dark red (0.5, 0, 0), white at the middle.
    public static let seismic = Colormap(evenlySpaced: [
        (0, 0, 0.3), (0, 0, 1), (1, 1, 1), (1, 0, 0), (0.5, 0, 0),
    ])

    /// The entry for `v` in [0, 1]: index `Int(v * 256)` clamped to 0...255
    /// (values below 0 take the first entry, above 1 the last, as matplotlib's
    /// default under/over colours). NaN, matplotlib's transparent "bad" value,
    /// is drawn white like the figure behind it.
    @inlinable
    public func color(at v: Float) -> (r: UInt8, g: UInt8, b: UInt8) {
        guard !v.isNaN else { return (255, 255, 255) }
        let scaled = v * Float(Colormap.size)
        let index = scaled < 0 ? 0 : (scaled >= Float(Colormap.size) ? Colormap.size - 1 : Int(scaled))
        return (table[3 * index], table[3 * index + 1], table[3 * index + 2])
    }
}

/// Rendering of relevance maps as the reference's `visualize_batch` shows
/// them: the de-normalised image beside a `seismic` heatmap on [-1, 1].
public enum Visualization {
    /// The heatmap of one sample's relevance, shape (C, H, W) or (H, W):
    /// `s = sum_c R[c]`, `s / (max|s| + 1e-9)` (normalise max, so values lie in
    /// [-1, 1]), then `seismic` at `(s + 1) / 2`: red positive, blue negative,
    /// white zero. Computed in float32 as matplotlib does for float32 data.
    /// A constant map (``SummedRelevance/isConstant``) is drawn white, neutral,
    /// where matplotlib would paint a constant positive map dark red.
    public static func heatmap(relevance: Tensor, colormap: Colormap = .seismic) -> RGBImage {
        heatmap(SummedRelevance(relevance), colormap: colormap)
    }

    /// The heatmap of a summed map (see ``heatmap(relevance:colormap:)``).
    public static func heatmap(_ map: SummedRelevance, colormap: Colormap = .seismic) -> RGBImage {
        guard !map.isConstant else { return RGBImage(width: map.width, height: map.height, filledWith: (255, 255, 255)) }
        var pixels = [UInt8](repeating: 0, count: map.values.count * 3)
        let denominator = map.maxAbs + 1e-9
        for (i, s) in map.values.enumerated() {
            let rgb = colormap.color(at: (s / denominator + 1) / 2)
            pixels[3 * i] = rgb.r
            pixels[3 * i + 1] = rgb.g
            pixels[3 * i + 2] = rgb.b
        }
        return RGBImage(width: map.width, height: map.height, pixels: pixels)
    }

    /// `image` and `heatmap` side by side on white, each enlarged `scale` times
    /// by pixel repetition (so a 28x28 input is visible), `gap` white pixels
    /// apart; the shorter one is top-aligned.
    public static func sideBySide(image: RGBImage, heatmap: RGBImage, scale: Int = 1, gap: Int = 4) -> RGBImage {
        precondition(scale >= 1 && gap >= 0, "scale must be >= 1 and gap >= 0")
        let width = (image.width + heatmap.width) * scale + gap
        let height = max(image.height, heatmap.height) * scale
        var canvas = RGBImage(width: width, height: height, filledWith: (255, 255, 255))
        paste(image, into: &canvas, x: 0, scale: scale)
        paste(heatmap, into: &canvas, x: image.width * scale + gap, scale: scale)
        return canvas
    }

    /// `heatmap` blended over `image` (same size): `round((1 - alpha) * image + alpha * heatmap)`
    /// per byte, `alpha` in [0, 1].
    public static func overlay(image: RGBImage, heatmap: RGBImage, alpha: Float = 0.5) -> RGBImage {
        precondition(image.width == heatmap.width && image.height == heatmap.height,
                     "overlay needs equal sizes, got \(image.width)x\(image.height) and \(heatmap.width)x\(heatmap.height)")
        precondition(alpha >= 0 && alpha <= 1, "alpha must be in [0, 1], got \(alpha)")
        var out = image
        out.pixels.withUnsafeMutableBufferPointer { o in
            heatmap.pixels.withUnsafeBufferPointer { h in
                for i in 0..<o.count {
                    o[i] = UInt8(((1 - alpha) * Float(o[i]) + alpha * Float(h[i])).rounded())
                }
            }
        }
        return out
    }

    /// One sample as `visualize_batch` draws it: the model input `input`
    /// (C, H, W), de-normalised with `config` and clamped to [0, 1], beside
    /// ``heatmap(relevance:colormap:)`` of `relevance` (C, H, W), both
    /// enlarged `scale` times.
    public static func render(input: Tensor, relevance: Tensor, config: PreprocessingConfig,
                              scale: Int = 1) -> RGBImage {
        let image = RGBImage(tensor: config.denormalize(input))
        return sideBySide(image: image, heatmap: heatmap(relevance: relevance), scale: scale)
    }

    /// Copies `source`, each pixel repeated into a `scale x scale` block, into
    /// `canvas` with its top-left corner at column `x`, row 0.
    private static func paste(_ source: RGBImage, into canvas: inout RGBImage, x: Int, scale: Int) {
        let canvasWidth = canvas.width
        source.pixels.withUnsafeBufferPointer { src in
            canvas.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<(source.height * scale) {
                    let srcRow = (y / scale) * source.width
                    let dstRow = y * canvasWidth + x
                    for cx in 0..<(source.width * scale) {
                        let s = 3 * (srcRow + cx / scale), d = 3 * (dstRow + cx)
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
    }
}

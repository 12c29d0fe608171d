import Foundation

/// Pillow's resampling filters for `Image.resize`, named as timm's
/// `interpolation` strings.
public enum ResamplingFilter: String, CaseIterable, Sendable {
    case nearest, box, bilinear, hamming, bicubic, lanczos

    /// Half-width of the kernel at scale 1, in source pixels.
    var support: Double {
        switch self {
        case .nearest: 0
        case .box: 0.5
        case .bilinear, .hamming: 1
        case .bicubic: 2
        case .lanczos: 3
        }
    }

    /// The kernel `k(x)` in double precision, as Pillow evaluates it:
    /// box `1` on (-0.5, 0.5]; triangle `1 - |x|`; Hamming-windowed sinc
    /// `sinc(x) (0.54 + 0.46 cos(pi x))` on |x| < 1 (the two constants are C
    /// `float`s in Pillow, so their float values are used); Keys' cubic with
    /// `a = -0.5`; Lanczos `sinc(x) sinc(x / 3)` on [-3, 3).
    func weight(_ x: Double) -> Double {
        switch self {
        case .nearest:
            return 0
        case .box:
            return x > -0.5 && x <= 0.5 ? 1 : 0
        case .bilinear:
            let d = abs(x)
            return d < 1 ? 1 - d : 0
        case .hamming:
            let d = abs(x)
            if d == 0 { return 1 }
            if d >= 1 { return 0 }
            let t = d * Double.pi
            return sin(t) / t * (Double(Float(0.54)) + Double(Float(0.46)) * cos(t))
        case .bicubic:
            let a = -0.5, d = abs(x)
            if d < 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
            if d < 2 { return (((d - 5) * d + 8) * d - 4) * a }
            return 0
        case .lanczos:
            func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(v * Double.pi) / (v * Double.pi) }
            return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0
        }
    }
}

/// The weights of one resampling pass along one axis, as Pillow's
/// `precompute_coeffs` and `normalize_coeffs_8bpc` make them.
///
/// With `scale = in / out` and `filterscale = max(scale, 1)` (the kernel is
/// stretched when reducing: antialiasing), output `i` reads source indices
/// `start[i] ..< start[i] + count[i]`:
///
///     center   = (i + 0.5) * scale
///     support  = filter.support * filterscale
///     start    = max(Int(center - support + 0.5), 0)        (truncation)
///     end      = min(Int(center + support + 0.5), in)
///     w(j)     = k((start + j - center + 0.5) / filterscale)
///
/// normalised to sum 1 in double, then fixed point with 22 fraction bits:
/// `Int32(w * 2^22 ± 0.5)` (rounded half away from zero).
struct ResamplingCoefficients {
    static let precisionBits = 22
    let start: [Int]
    let count: [Int]
    /// Row `i` holds output `i`'s `count[i]` fixed-point weights; rows are `stride` long.
    let weights: [Int32]
    let stride: Int

    init(inputSize: Int, outputSize: Int, filter: ResamplingFilter) {
        // Pillow's box is (float) 0 ..< inputSize; the difference is exact.
        let scale = Double(Float(inputSize) - Float(0)) / Double(outputSize)
        let filterscale = max(scale, 1)
        let support = filter.support * filterscale
        stride = Int(support.rounded(.up)) * 2 + 1
        var weights = [Int32](repeating: 0, count: outputSize * stride)
        var start = [Int](), count = [Int]()
        let one = Double(1 << Self.precisionBits)
        var row = [Double](repeating: 0, count: stride)
        for i in 0..<outputSize {
            let center = (Double(i) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), inputSize) - first
            var total = 0.0
            for j in 0..<n {
                let w = filter.weight((Double(j + first) - center + 0.5) * (1 / filterscale))
                row[j] = w
                total += w
            }
            for j in 0..<n {
                let w = total != 0 ? row[j] / total : row[j]
                weights[i * stride + j] = Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one)
            }
            start.append(first)
            count.append(n)
        }
        self.start = start
        self.count = count
        self.weights = weights
    }
}

extension ByteImage {
    /// Pillow 13's `Image.resize((width, height), filter)` of an 8-bit `L`
    /// or `RGB` image, byte for byte.
    ///
    /// Nearest: output pixel `x` is source pixel `Int(x0)` with `x0` starting
    /// at `0.5 * scale` and advanced by `scale` per pixel in double (Pillow's
    /// `ImagingScaleAffine`). Other filters: separable, each pass an integer
    /// sum `2^21 + sum_j byte_j * w_j` shifted right by 22 and clipped to
    /// 0...255 (``ResamplingCoefficients``), so the intermediate image is
    /// rounded to bytes as Pillow's is. A pass whose axis keeps its size is
    /// skipped. The order matters for those bytes and is Pillow's: along rows
    /// first (over only the source rows the column pass reads), unless the
    /// height shrinks by more than twice as many pixels as the width
    /// (`inH - outH > 0` and `> 2 (inW - outW)`): then columns first.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResamplingFilter) -> ByteImage {
        precondition(outWidth > 0 && outHeight > 0 && width > 0 && height > 0,
                     "cannot resize \(width)x\(height) to \(outWidth)x\(outHeight)")
        if outWidth == width && outHeight == height { return self }
        if filter == .nearest { return nearestResized(width: outWidth, height: outHeight) }
        let vertical = ResamplingCoefficients(inputSize: height, outputSize: outHeight, filter: filter)
        let horizontal = ResamplingCoefficients(inputSize: width, outputSize: outWidth, filter: filter)
        let shrink = height - outHeight
        let horizontalFirst = !(shrink > 0 && shrink > (width - outWidth) * 2)
        if !horizontalFirst {
            let columns = outHeight != height ? verticalPass(vertical, rowOffset: 0) : self
            return outWidth != width ? columns.horizontalPass(horizontal, rows: 0..<outHeight) : columns
        }
        var image = self, rowOffset = 0
        if outWidth != width {
            let firstRow = vertical.start[0]
            let lastRow = vertical.start[outHeight - 1] + vertical.count[outHeight - 1]
            image = horizontalPass(horizontal, rows: firstRow..<lastRow)
            rowOffset = firstRow
        }
        return outHeight != height ? image.verticalPass(vertical, rowOffset: rowOffset) : image
    }

    /// Rounds a fixed-point sum to a byte: `clamp(sum >> 22, 0, 255)`.
    @inline(__always)
    private static func clip(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> Int32(ResamplingCoefficients.precisionBits))
    }

    private func horizontalPass(_ k: ResamplingCoefficients, rows: Range<Int>) -> ByteImage {
        let outWidth = k.start.count, c = channels
        let half = Int32(1 << (ResamplingCoefficients.precisionBits - 1))
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * c)
        pixels.withUnsafeBufferPointer { src in
            k.weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { dst in
                    for (r, y) in rows.enumerated() {
                        for x in 0..<outWidth {
                            let first = k.start[x], row = x * k.stride
                            for band in 0..<c {
                                var sum = half
                                var s = (y * width + first) * c + band
                                for j in 0..<k.count[x] {
                                    sum &+= Int32(src[s]) &* w[row + j]
                                    s += c
                                }
                                dst[(r * outWidth + x) * c + band] = Self.clip(sum)
                            }
                        }
                    }
                }
            }
        }
        return ByteImage(width: outWidth, height: rows.count, channels: c, pixels: out)
    }

    /// The column pass; source row `k.start[y] - rowOffset` is row 0's first.
    private func verticalPass(_ k: ResamplingCoefficients, rowOffset: Int) -> ByteImage {
        let outHeight = k.start.count, c = channels, rowLength = width * c
        let half = Int32(1 << (ResamplingCoefficients.precisionBits - 1))
        var out = [UInt8](repeating: 0, count: outHeight * rowLength)
        pixels.withUnsafeBufferPointer { src in
            k.weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<outHeight {
                        let first = (k.start[y] - rowOffset) * rowLength, row = y * k.stride
                        for i in 0..<rowLength {
                            var sum = half
                            for j in 0..<k.count[y] { sum &+= Int32(src[first + j * rowLength + i]) &* w[row + j] }
                            dst[y * rowLength + i] = Self.clip(sum)
                        }
                    }
                }
            }
        }
        return ByteImage(width: width, height: outHeight, channels: c, pixels: out)
    }

    private func nearestResized(width outWidth: Int, height outHeight: Int) -> ByteImage {
        /// Source index of each output index; -1 (or `size` and beyond) is outside: filled with 0.
        func sourceIndices(input: Int, output: Int) -> [Int] {
            let step = Double(Float(input) - Float(0)) / Double(output)
            var position = step * 0.5, indices: [Int] = []
            for _ in 0..<output {
                indices.append(position < 0 ? -1 : Int(position))
                position += step
            }
            return indices
        }
        let xs = sourceIndices(input: width, output: outWidth), ys = sourceIndices(input: height, output: outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        for (y, sy) in ys.enumerated() where sy >= 0 && sy < height {
            for (x, sx) in xs.enumerated() where sx >= 0 && sx < width {
                for band in 0..<channels {
                    out[(y * outWidth + x) * channels + band] = pixels[(sy * width + sx) * channels + band]
                }
            }
        }
        return ByteImage(width: outWidth, height: outHeight, channels: channels, pixels: out)
    }
}

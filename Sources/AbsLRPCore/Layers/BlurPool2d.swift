/// timm's `BlurPool2d` (anti-aliased downsampling, Zhang 2019): each channel
/// reflect-padded by 1 and convolved with the fixed binomial 3x3 filter
/// `f f^T / 16`, `f = (1, 2, 1)`, at stride s (timm's `filt_size` 3, `pad_mode`
/// "reflect"; the filter is a non-persistent buffer, so no state-dict key).
///
/// - input (B, C, H, W) with H, W >= 2 (reflection needs a second pixel);
///   output (B, C, OH, OW), `OH = floor((H - 1) / s) + 1`, likewise OW
/// - `y[c, oy, ox] = sum_{i,j in 0..<3} f_i f_j / 16 * x[c, r_H(oy*s + i - 1), r_W(ox*s + j - 1)]`,
///   `r_n(-1) = 1`, `r_n(n) = n - 2`, `r_n(k) = k` otherwise (PyTorch's "reflect")
/// - VJP: each `g[c, oy, ox]` spread back with the same weights onto the
///   pixels it read (reflected taps accumulate on their source). The filter
///   is nonnegative, so the absolute twin (`|filter|` at `|x|`) has the same VJP.
public final class BlurPool2d: Layer {
    public let stride: Int

    /// `f_i f_j / 16` for tap `(i, j)`.
    private static let taps: [Float] = [1, 2, 1].flatMap { a in [1, 2, 1].map { b in Float(a * b) / 16 } }

    public init(name: String, stride: Int) {
        precondition(stride > 0, "\(name): stride \(stride)")
        self.stride = stride
        super.init(name: name)
    }

    /// Output cells along an axis of n >= 2 pixels: `floor((n + 2 - 3) / s) + 1`.
    func outputLength(_ n: Int) -> Int { (n - 1) / stride + 1 }

    /// PyTorch's reflection of index `k` in `-1...n` into `0..<n`.
    @inline(__always)
    private static func reflect(_ k: Int, _ n: Int) -> Int { k < 0 ? -k : (k >= n ? 2 * (n - 1) - k : k) }

    /// Calls `body(outputIndex, inputIndex, weight)` for the nine taps of
    /// every output, image planes in parallel (each plane's indices stay in the plane).
    private func forEachTap(_ shape: [Int], _ body: (Int, Int, Float) -> Void) {
        let (h, w) = (shape[2], shape[3])
        let (oh, ow) = (outputLength(h), outputLength(w))
        parallelChunks(shape[0] * shape[1], minimumChunk: max(1, (1 << 14) / max(1, 9 * oh * ow))) { planes in
            for plane in planes {
                for oy in 0..<oh {
                    for i in 0..<3 {
                        let row = plane * h * w + Self.reflect(oy * stride + i - 1, h) * w
                        for ox in 0..<ow {
                            let o = (plane * oh + oy) * ow + ox
                            for j in 0..<3 { body(o, row + Self.reflect(ox * stride + j - 1, w), Self.taps[i * 3 + j]) }
                        }
                    }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[2] >= 2 && x.shape[3] >= 2, "\(name): input \(x.shape), expected (B, C, H >= 2, W >= 2)")
        return PoolingTaps.apply(x, outputShape: [x.shape[0], x.shape[1], outputLength(x.shape[2]), outputLength(x.shape[3])],
                                 taps: forEachTap)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [PoolingTaps.transpose(g, inputShape: record.inputs[0].shape, taps: forEachTap)]
    }
}

/// Average pooling over k x k windows with stride s, no padding, as
/// `nn.AvgPool2d(k, s, ceil_mode=True, count_include_pad=False)` (timm's
/// ResNet `avg_down` shortcuts) or `nn.AvgPool2d(k, s)` (`ceilMode` false:
/// timm's `aa_layer=nn.AvgPool2d`, the anti-aliased ResNets' 2x2 pools).
///
/// - input (B, C, H, W); output (B, C, OH, OW) with `OH = ceil((H - k) / s) + 1`
///   (a last window may hang over the edge; with no padding it always starts
///   inside the input), or `floor((H - k) / s) + 1` without ceil mode (every
///   window inside the input; none when H < k), likewise OW
/// - output `(oy, ox)` is the mean of the input pixels of rows
///   `oy*s ..< min(oy*s + k, H)` and columns `ox*s ..< min(ox*s + k, W)`: the
///   divisor counts only pixels inside the input
/// - VJP: each output's `g` spread evenly over its window; the absolute twin
///   (the mean of `|x|`) has the same VJP.
public final class AvgPool2d: Layer {
    public let kernelSize, stride: Int
    public let ceilMode: Bool

    public init(name: String, kernelSize: Int, stride: Int, ceilMode: Bool) {
        precondition(kernelSize > 0 && stride > 0, "\(name): kernel \(kernelSize), stride \(stride)")
        self.kernelSize = kernelSize; self.stride = stride; self.ceilMode = ceilMode
        super.init(name: name)
    }

    /// Output cells along an axis of n >= 1 pixels: `ceil((n - k) / s) + 1`
    /// (1 when n < k), or without ceil mode `floor((n - k) / s) + 1` (0 when n < k).
    func outputLength(_ n: Int) -> Int {
        ceilMode ? max(0, n - kernelSize + stride - 1) / stride + 1 : (n < kernelSize ? 0 : (n - kernelSize) / stride + 1)
    }

    /// The input pixels of output cell `o` along an axis of n pixels.
    private func window(_ o: Int, _ n: Int) -> Range<Int> { (o * stride)..<min(o * stride + kernelSize, n) }

    /// Calls `body(outputIndex, inputIndex, 1 / windowSize)` for every pair.
    private func forEachPair(_ shape: [Int], _ body: (Int, Int, Float) -> Void) {
        let (h, w) = (shape[2], shape[3])
        let (oh, ow) = (outputLength(h), outputLength(w))
        for plane in 0..<(shape[0] * shape[1]) {
            for oy in 0..<oh {
                let rows = window(oy, h)
                for ox in 0..<ow {
                    let cols = window(ox, w)
                    let o = (plane * oh + oy) * ow + ox
                    let inv = 1 / Float(rows.count * cols.count)
                    for i in rows { for j in cols { body(o, plane * h * w + i * w + j, inv) } }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && outputLength(x.shape[2]) > 0 && outputLength(x.shape[3]) > 0,
                     "\(name): input \(x.shape), expected (B, C, H, W) of at least \(ceilMode ? 1 : kernelSize) pixels a side")
        return PoolingTaps.apply(x, outputShape: [x.shape[0], x.shape[1], outputLength(x.shape[2]), outputLength(x.shape[3])],
                                 taps: forEachPair)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [PoolingTaps.transpose(g, inputShape: record.inputs[0].shape, taps: forEachPair)]
    }
}

/// Adaptive average pooling (`nn.AdaptiveAvgPool2d`, `F.adaptive_avg_pool2d`).
/// Output cell (i, j) averages input rows `floor(i*H/OH) ..< ceil((i+1)*H/OH)`
/// and likewise for columns, as PyTorch does.
///
/// - input (B, C, H, W); output (B, C, OH, OW), where (OH, OW) is fixed or a
///   function of (H, W) (timm's ConvMlp pools small maps up to at least k x k)
/// - VJP: each output's `g` spread evenly over its window; the absolute twin
///   (the mean of `|x|`) has the same VJP.
public final class AdaptiveAvgPool2d: Layer {
    private let outputSize: @Sendable (Int, Int) -> (Int, Int)
    /// Whether timm calls this pool as a function (`F.adaptive_avg_pool2d`
    /// in ConvMlp's forward) rather than holding it as a module: Zennit's
    /// composites, which map modules, never see such a pool.
    public let isFunctionalInTimm: Bool

    /// Pools to `outputSize(H, W)`.
    public init(name: String, outputSize: @escaping @Sendable (Int, Int) -> (Int, Int), isFunctionalInTimm: Bool = false) {
        self.outputSize = outputSize
        self.isFunctionalInTimm = isFunctionalInTimm
        super.init(name: name)
    }

    /// Pools to a fixed OH x OW.
    public convenience init(name: String, outputHeight: Int, outputWidth: Int) {
        self.init(name: name, outputSize: { _, _ in (outputHeight, outputWidth) })
    }

    private static func window(_ i: Int, _ inSize: Int, _ outSize: Int) -> Range<Int> {
        (i * inSize / outSize)..<(((i + 1) * inSize + outSize - 1) / outSize)
    }

    /// Calls `body(outputIndex, inputIndex, 1/windowSize)` for every pair.
    private func forEachPair(_ shape: [Int], _ oh: Int, _ ow: Int, _ body: (Int, Int, Float) -> Void) {
        let (h, w) = (shape[2], shape[3])
        for plane in 0..<(shape[0] * shape[1]) {
            for oy in 0..<oh {
                let rows = Self.window(oy, h, oh)
                for ox in 0..<ow {
                    let cols = Self.window(ox, w, ow)
                    let o = (plane * oh + oy) * ow + ox
                    let inv = 1 / Float(rows.count * cols.count)
                    for i in rows { for j in cols { body(o, plane * h * w + i * w + j, inv) } }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        let (oh, ow) = outputSize(x.shape[2], x.shape[3])
        var sums = [Float](repeating: 0, count: x.shape[0] * x.shape[1] * oh * ow)
        var invs = sums
        x.storage.withUnsafeBufferPointer { xs in
            forEachPair(x.shape, oh, ow) { o, i, inv in sums[o] += xs[i]; invs[o] = inv }
        }
        return Tensor(shape: [x.shape[0], x.shape[1], oh, ow], storage: zip(sums, invs).map { $0 * $1 })
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [PoolingTaps.transpose(g, inputShape: record.inputs[0].shape,
                               taps: { forEachPair($0, g.shape[2], g.shape[3], $1) })]
    }
}

/// Max pooling (`nn.MaxPool2d`, square window, padding counts as -inf).
///
/// - input (B, C, H, W); output (B, C, OH, OW)
/// - VJP: `g` routed to each window's argmax of `x`; the absolute twin routes
///   to the argmax of `|x|`. Ties take the first index of the window in
///   row-major order (PyTorch's CPU kernel); overlapping windows accumulate.
public final class MaxPool2d: Layer {
    public let kernelSize, stride, padding: Int

    public init(name: String, kernelSize: Int, stride: Int, padding: Int = 0) {
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        super.init(name: name)
    }

    private func geometry(_ shape: [Int]) -> ConvGeometry {
        ConvGeometry(channels: shape[1], height: shape[2], width: shape[3], kernelHeight: kernelSize,
                     kernelWidth: kernelSize, stride: stride, padding: padding)
    }

    /// Calls `body(outputIndex, inputIndex)` with each window's argmax of `value(x)`.
    private func forEachArgmax(_ x: Tensor, _ value: (Float) -> Float, _ body: (Int, Int) -> Void) {
        let g = geometry(x.shape)
        let (oh, ow, h, w) = (g.outputHeight, g.outputWidth, g.height, g.width)
        x.storage.withUnsafeBufferPointer { xs in
            for plane in 0..<(x.shape[0] * x.shape[1]) {
                let inBase = plane * h * w, outBase = plane * oh * ow
                for oy in 0..<oh {
                    let y0 = oy * stride - padding
                    for ox in 0..<ow {
                        let x0 = ox * stride - padding
                        var best = -Float.infinity, bestIndex = -1
                        for i in max(y0, 0)..<min(y0 + kernelSize, h) {
                            for j in max(x0, 0)..<min(x0 + kernelSize, w) {
                                let v = value(xs[inBase + i * w + j])
                                if v > best || v.isNaN || bestIndex < 0 { best = v; bestIndex = inBase + i * w + j }
                            }
                        }
                        body(outBase + oy * ow + ox, bestIndex)
                    }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        let g = geometry(x.shape)
        var y = Tensor(shape: [x.shape[0], x.shape[1], g.outputHeight, g.outputWidth])
        y.storage.withUnsafeMutableBufferPointer { ys in
            forEachArgmax(x, { $0 }) { o, i in ys[o] = x.storage[i] }
        }
        return y
    }

    private func route(_ g: Tensor, _ x: Tensor, _ value: (Float) -> Float) -> Tensor {
        var out = Tensor(shape: x.shape)
        out.storage.withUnsafeMutableBufferPointer { os in
            g.storage.withUnsafeBufferPointer { gs in
                forEachArgmax(x, value) { o, i in os[i] += gs[o] }
            }
        }
        return out
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [route(g, record.inputs[0], { $0 })] }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [route(s, record.inputs[0], { abs($0) })]
    }
}

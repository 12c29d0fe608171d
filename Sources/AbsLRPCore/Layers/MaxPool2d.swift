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

    /// Calls `body(outputIndex, argmax of x, argmax of |x|)` for every window
    /// (flat indices into the input); image planes run in parallel, and each
    /// window's indices stay inside its own plane. Without `magnitudes` (the
    /// forward) the argmax of `|x|` is not searched and is passed as -1.
    @inline(__always)
    private func forEachWindow(_ x: Tensor, magnitudes: Bool = true, _ body: (Int, Int, Int) -> Void) {
        let g = geometry(x.shape)
        let (oh, ow, h, w) = (g.outputHeight, g.outputWidth, g.height, g.width)
        x.storage.withUnsafeBufferPointer { xs in
            let xp = xs.baseAddress!
            parallelChunks(x.shape[0] * x.shape[1], minimumChunk: max(1, (1 << 14) / max(1, h * w))) { planes in
                for plane in planes {
                    let inBase = plane * h * w, outBase = plane * oh * ow
                    for oy in 0..<oh {
                        let y0 = oy * stride - padding
                        for ox in 0..<ow {
                            let x0 = ox * stride - padding
                            var best = -Float.infinity, bestIndex = -1
                            var bestAbsolute = -Float.infinity, bestAbsoluteIndex = -1
                            for i in max(y0, 0)..<min(y0 + kernelSize, h) {
                                for j in max(x0, 0)..<min(x0 + kernelSize, w) {
                                    let index = inBase + i * w + j, v = xp[index], a = abs(v)
                                    if v > best || v.isNaN || bestIndex < 0 { best = v; bestIndex = index }
                                    if magnitudes && (a > bestAbsolute || a.isNaN || bestAbsoluteIndex < 0) {
                                        bestAbsolute = a; bestAbsoluteIndex = index
                                    }
                                }
                            }
                            body(outBase + oy * ow + ox, bestIndex, bestAbsoluteIndex)
                        }
                    }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        let g = geometry(x.shape)
        // every window holds at least one input pixel, so every output is written
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: [x.shape[0], x.shape[1], g.outputHeight, g.outputWidth]) { ys in
                forEachWindow(x, magnitudes: false) { o, i, _ in ys[o] = xs[i] }
            }
        }
    }

    /// `g` summed into each window's argmax of `x` (or of `|x|`).
    private func route(_ g: Tensor, _ x: Tensor, absolute: Bool) -> Tensor {
        var out = Tensor(shape: x.shape)
        out.storage.withUnsafeMutableBufferPointer { os in
            g.storage.withUnsafeBufferPointer { gs in
                forEachWindow(x) { o, i, a in os[absolute ? a : i] += gs[o] }
            }
        }
        return out
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [route(g, record.inputs[0], absolute: false)] }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [route(s, record.inputs[0], absolute: true)]
    }

    /// absLRP's contributions from `S` at the output in one pass: each
    /// window adds `x_i S_o` at its argmax `i` of `x` and `|x_j| S_o` at its
    /// argmax `j` of `|x|`.
    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        [routedContributions(s, record, Ratio(divides: false))]
    }

    /// The same from the relevance `R`, with `S_o = R_o / (|y_o| + 1e-9)` formed on the way.
    override public func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        [routedContributions(r, record, Ratio(divides: true))]
    }

    /// `sum over windows o` of `x_i ratio(v_o, y_o)` at `i` and `|x_j| ratio(v_o, y_o)` at `j`.
    private func routedContributions(_ v: Tensor, _ record: Record, _ ratio: Ratio) -> Tensor {
        let x = record.inputs[0], y = record.output
        var out = Tensor(shape: x.shape)
        out.storage.withUnsafeMutableBufferPointer { os in
            x.storage.withUnsafeBufferPointer { xs in
                v.storage.withUnsafeBufferPointer { vs in
                    y.storage.withUnsafeBufferPointer { ys in
                        forEachWindow(x) { o, i, a in
                            let s = ratio(vs[o], ys[o])
                            os[i] += xs[i] * s
                            os[a] += abs(xs[a]) * s
                        }
                    }
                }
            }
        }
        return out
    }

    /// `v / (|y| + 1e-9)`, or `v` itself.
    private struct Ratio {
        let divides: Bool
        @inline(__always) func callAsFunction(_ v: Float, _ y: Float) -> Float {
            divides ? v / (abs(y) + relevanceEpsilon) : v
        }
    }
}

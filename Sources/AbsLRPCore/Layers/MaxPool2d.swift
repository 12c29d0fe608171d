import CVectorMath

/// Max pooling (`nn.MaxPool2d`, square window, padding counts as -inf).
///
/// - input (B, C, H, W); output (B, C, OH, OW)
/// - VJP: `g` routed to each window's argmax of `x`; the absolute twin routes
///   to the argmax of `|x|`. Ties take the first index of the window in
///   row-major order (PyTorch's CPU kernel; a NaN wins); overlapping windows
///   accumulate. The window searches and routings are C kernels
///   (CVectorMath's `maxpool.c`), the 2x2 pools of stride 2 vectorised.
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

    /// Runs `body(planes, h, w, oh, ow)` on chunks of the image planes
    /// (`0..<B*C`) of an input of `shape`, in parallel: the kernels
    /// (`cvm_maxpool_forward`, `cvm_maxpool_backward`, CVectorMath) keep each
    /// window inside its own plane.
    private func forEachPlanes(_ shape: [Int], _ body: (Range<Int>, Int, Int, Int, Int) -> Void) {
        let g = geometry(shape), planeSize = g.height * g.width
        parallelChunks(shape[0] * shape[1], minimumChunk: max(1, (1 << 14) / max(1, planeSize))) { planes in
            body(planes, g.height, g.width, g.outputHeight, g.outputWidth)
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        let g = geometry(x.shape)
        // every window holds at least one input pixel, so every output is written
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: [x.shape[0], x.shape[1], g.outputHeight, g.outputWidth]) { ys in
                guard let xp = xs.baseAddress else { return }
                forEachPlanes(x.shape) { planes, h, w, oh, ow in
                    cvm_maxpool_forward(xp + planes.lowerBound * h * w, ys + planes.lowerBound * oh * ow,
                                        planes.count, h, w, kernelSize, stride, padding, oh, ow)
                }
            }
        }
    }

    /// `apply`, recorded; the maxima of an input noted nonnegative are noted too
    /// (`ForwardContext.noteNonnegative`).
    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let y = super.forward(x, context)
        if context.isKnownNonnegative(x) { context.noteNonnegative(y) }
        return y
    }

    /// The routing of `v` (one value per window) back to the input `x`
    /// (`cvm_maxpool_backward`: every input value written), with `y` the
    /// recorded output when the routing divides by `|y| + 1e-9`.
    private func backward(_ v: Tensor, _ x: Tensor, _ y: Tensor?, _ routing: cvm_maxpool_routing) -> Tensor {
        precondition(v.shape == [x.shape[0], x.shape[1], geometry(x.shape).outputHeight, geometry(x.shape).outputWidth],
                     "\(name): backward got \(v.shape) for input \(x.shape)")
        return x.storage.withUnsafeBufferPointer { xs in
            v.storage.withUnsafeBufferPointer { vs in
                (y?.storage ?? []).withUnsafeBufferPointer { ys in
                    Tensor(shape: x.shape) { out in
                        guard let xp = xs.baseAddress, let vp = vs.baseAddress else { return }
                        forEachPlanes(x.shape) { planes, h, w, oh, ow in
                            let first = planes.lowerBound
                            cvm_maxpool_backward(xp + first * h * w, vp + first * oh * ow,
                                                 ys.baseAddress.map { $0 + first * oh * ow }, out + first * h * w,
                                                 planes.count, h, w, kernelSize, stride, padding, oh, ow, routing,
                                                 y == nil ? 0 : 1, relevanceEpsilon)
                        }
                    }
                }
            }
        }
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [backward(g, record.inputs[0], nil, CVM_MAXPOOL_GRADIENT)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [backward(s, record.inputs[0], nil, CVM_MAXPOOL_ABSOLUTE_GRADIENT)]
    }

    /// absLRP's contributions from `S` at the output in one pass: each
    /// window adds `x_i S_o` at its argmax `i` of `x` and `|x_j| S_o` at its
    /// argmax `j` of `|x|`.
    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        [backward(s, record.inputs[0], nil, CVM_MAXPOOL_CONTRIBUTIONS)]
    }

    /// The same from the relevance `R`, with `S_o = R_o / (|y_o| + 1e-9)` formed on the way.
    override public func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        [backward(r, record.inputs[0], record.output, CVM_MAXPOOL_CONTRIBUTIONS)]
    }
}

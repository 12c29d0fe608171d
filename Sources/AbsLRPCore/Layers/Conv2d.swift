/// 2-D convolution (`nn.Conv2d`, groups 1), computed as im2col + sgemm.
///
/// - input `x`: (B, C, H, W); output `y`: (B, O, OH, OW)
/// - `weight`: (O, C, kh, kw), read as the `[O, C*kh*kw]` matrix; `bias`: (O)
///
///     y_b = W · im2col(x_b) + b
///
/// Backward products use `W^T` and, for the absolute twin, `|W|^T`; both are
/// one GEMM with the stacked matrix `[W | |W|]` (cached, rebuilt when the
/// weights change), followed by col2im.
public final class Conv2d: Layer {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public let hasBias: Bool
    /// `[O, 2*C*kh*kw]`: each row is `W[o, :]` followed by `|W[o, :]|`; nil until needed.
    private var cachedStackedWeight: [Float]?

    public init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.hasBias = bias
        super.init(name: name)
        registerState("weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        if bias { registerState("bias", shape: [outChannels]) }
    }

    override public func stateDidChange() { cachedStackedWeight = nil }

    /// `[W | |W|]`, built on first use after the weights change (forward-only
    /// use never pays for it).
    private var stackedWeight: [Float] {
        if let cached = cachedStackedWeight { return cached }
        let built = buildStackedWeight()
        cachedStackedWeight = built
        return built
    }

    private func buildStackedWeight() -> [Float] {
        let w = parameter("weight").storage, p = patchSize
        var stacked = [Float](repeating: 0, count: 2 * w.count)
        for o in 0..<outChannels {
            for j in 0..<p {
                stacked[o * 2 * p + j] = w[o * p + j]
                stacked[o * 2 * p + p + j] = abs(w[o * p + j])
            }
        }
        return stacked
    }

    private var patchSize: Int { inChannels * kernelSize * kernelSize }

    /// The geometry of this convolution on an input of spatial size H x W.
    public func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(channels: inChannels, height: height, width: width,
                     kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
    }

    /// A 1x1, stride-1, unpadded convolution reads its input as the column matrix directly.
    private var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "\(name): input \(x.shape), expected (B, \(inChannels), H, W)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let g = geometry(height: h, width: w)
        let l = g.outputPixels, p = patchSize
        precondition(g.outputHeight > 0 && g.outputWidth > 0, "\(name): input \(h)x\(w) smaller than the \(kernelSize)x\(kernelSize) kernel")
        var y = Tensor(shape: [b, outChannels, g.outputHeight, g.outputWidth])
        var columns = [Float](repeating: 0, count: isPointwise ? 0 : p * l)
        let weight = parameter("weight")
        let bias = hasBias ? parameter("bias").storage : nil
        x.storage.withUnsafeBufferPointer { xs in
            weight.storage.withUnsafeBufferPointer { ws in
                y.storage.withUnsafeMutableBufferPointer { ys in
                    columns.withUnsafeMutableBufferPointer { cs in
                        for i in 0..<b {
                            let image = xs.baseAddress! + i * inChannels * h * w
                            let out = ys.baseAddress! + i * outChannels * l
                            if let bias {
                                for o in 0..<outChannels { (out + o * l).update(repeating: bias[o], count: l) }
                            }
                            let cols: UnsafePointer<Float>
                            if isPointwise { cols = image } else {
                                im2col(image, g, cs.baseAddress!)
                                cols = UnsafePointer(cs.baseAddress!)
                            }
                            sgemm(m: outChannels, n: l, k: p, a: ws.baseAddress!, b: cols,
                                  beta: bias == nil ? 0 : 1, c: out)
                        }
                    }
                }
            }
        }
        return y
    }

    /// For each image: `columns = M^T · g_b` with `M` = `[W]` (first `p` columns
    /// of the stacked weight) or `[W | |W|]`, then col2im of each half.
    private func backwardProducts(_ g: Tensor, inputShape: [Int], twin: Bool) -> [Tensor] {
        let (b, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let geo = geometry(height: h, width: w)
        let l = geo.outputPixels, p = patchSize, halves = twin ? 2 : 1
        var outputs = [Tensor](repeating: Tensor(shape: inputShape), count: halves)
        var columns = [Float](repeating: 0, count: halves * p * l)
        g.storage.withUnsafeBufferPointer { gs in
            stackedWeight.withUnsafeBufferPointer { ws in
                columns.withUnsafeMutableBufferPointer { cs in
                    for i in 0..<b {
                        // columns[halves*p, l] = stacked[:, 0..<halves*p]^T · g_i[O, l]
                        sgemm(transposeA: true, m: halves * p, n: l, k: outChannels,
                              a: ws.baseAddress!, lda: 2 * p, b: gs.baseAddress! + i * outChannels * l,
                              c: cs.baseAddress!)
                        for half in 0..<halves {
                            outputs[half].storage.withUnsafeMutableBufferPointer { os in
                                let image = os.baseAddress! + i * inChannels * h * w
                                let cols = UnsafePointer(cs.baseAddress! + half * p * l)
                                if isPointwise { image.update(from: cols, count: p * l) } else { col2im(cols, geo, image) }
                            }
                        }
                    }
                }
            }
        }
        return outputs
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        backwardProducts(g, inputShape: record.inputs[0].shape, twin: false)
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [backwardProducts(s, inputShape: record.inputs[0].shape, twin: true)[1]]
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let x = record.inputs[0]
        let both = backwardProducts(s, inputShape: x.shape, twin: true)
        return [fusedContribution(x, detached: both[0], absolute: both[1])]
    }
}

/// `x * d + |x| * a`, elementwise: the absLRP contribution of one input.
func fusedContribution(_ x: Tensor, detached d: Tensor, absolute a: Tensor) -> Tensor {
    var out = d
    out.storage.withUnsafeMutableBufferPointer { o in
        x.storage.withUnsafeBufferPointer { xs in
            a.storage.withUnsafeBufferPointer { av in
                for j in o.indices { o[j] = xs[j] * o[j] + abs(xs[j]) * av[j] }
            }
        }
    }
    return out
}

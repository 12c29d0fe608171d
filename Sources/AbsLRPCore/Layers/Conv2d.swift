/// 2-D convolution (`nn.Conv2d`, groups 1), computed as im2col + sgemm.
///
/// - input `x`: (B, C, H, W); output `y`: (B, O, OH, OW)
/// - `weight`: (O, C, kh, kw), read as the `[O, C*kh*kw]` matrix; `bias`: (O)
///
///     y_b = W · im2col(x_b) + b
///
/// Backward products are `col2im(W^T · g_b)` and, for the absolute twin,
/// `col2im(|W|^T · s_b)`; `|W|` is cached (built on first use after the
/// weights change), so a model holds at most twice its weights.
public final class Conv2d: Layer {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public let hasBias: Bool
    /// `|W|`, nil until a relevance pass needs it.
    private var cachedAbsoluteWeight: Tensor?

    public init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.hasBias = bias
        super.init(name: name)
        registerState("weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        if bias { registerState("bias", shape: [outChannels]) }
    }

    override public func stateDidChange() { cachedAbsoluteWeight = nil }

    /// `|W|`, built once per weight change.
    var absoluteWeight: Tensor {
        if let cached = cachedAbsoluteWeight { return cached }
        let built = parameter("weight").absolute
        cachedAbsoluteWeight = built
        return built
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

    /// `col2im(M^T · g_b)` for each image, for each `M` in `weights` (W or |W|).
    private func backwardProducts(_ g: Tensor, inputShape: [Int], weights: [Tensor]) -> [Tensor] {
        let (b, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let geo = geometry(height: h, width: w)
        let l = geo.outputPixels, p = patchSize
        var outputs = [Tensor](repeating: Tensor(shape: inputShape), count: weights.count)
        var columns = [Float](repeating: 0, count: isPointwise ? 0 : p * l)
        g.storage.withUnsafeBufferPointer { gs in
            columns.withUnsafeMutableBufferPointer { cs in
                for (index, weight) in weights.enumerated() {
                    weight.storage.withUnsafeBufferPointer { ws in
                        outputs[index].storage.withUnsafeMutableBufferPointer { os in
                            for i in 0..<b {
                                let image = os.baseAddress! + i * inChannels * h * w
                                // pointwise: the column matrix is the image itself
                                let target = isPointwise ? image : cs.baseAddress!
                                sgemm(transposeA: true, m: p, n: l, k: outChannels, a: ws.baseAddress!,
                                      b: gs.baseAddress! + i * outChannels * l, c: target)
                                if !isPointwise { col2im(UnsafePointer(cs.baseAddress!), geo, image) }
                            }
                        }
                    }
                }
            }
        }
        return outputs
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        backwardProducts(g, inputShape: record.inputs[0].shape, weights: [parameter("weight")])
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        backwardProducts(s, inputShape: record.inputs[0].shape, weights: [absoluteWeight])
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let x = record.inputs[0]
        let both = backwardProducts(s, inputShape: x.shape, weights: [parameter("weight"), absoluteWeight])
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

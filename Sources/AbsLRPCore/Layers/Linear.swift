/// Fully connected layer (`nn.Linear`) over the last axis.
///
/// - input `x`: (..., in); output `y`: (..., out)
/// - `weight`: (out, in); `bias`: (out)
///
///     y = x · W^T + b
///
/// Backward: `g · W` (true and detached) and `g · |W|` (twin); `|W|` is
/// cached, built on first use after the weights change.
public final class Linear: Layer {
    public let inFeatures, outFeatures: Int
    public let hasBias: Bool
    /// `|W|`, nil until a relevance pass needs it.
    private var cachedAbsoluteWeight: Tensor?

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.hasBias = bias
        super.init(name: name)
        registerState("weight", shape: [outFeatures, inFeatures])
        if bias { registerState("bias", shape: [outFeatures]) }
    }

    override public func stateDidChange() { cachedAbsoluteWeight = nil }

    /// `|W|`, built once per weight change.
    var absoluteWeight: Tensor {
        if let cached = cachedAbsoluteWeight { return cached }
        let built = parameter("weight").absolute
        cachedAbsoluteWeight = built
        return built
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "\(name): input \(x.shape), expected last axis \(inFeatures)")
        let rows = x.count / inFeatures
        var y = Tensor(shape: Array(x.shape.dropLast()) + [outFeatures])
        let weight = parameter("weight")
        y.storage.withUnsafeMutableBufferPointer { ys in
            if hasBias {
                let bias = parameter("bias").storage
                for r in 0..<rows { for o in 0..<outFeatures { ys[r * outFeatures + o] = bias[o] } }
            }
            x.storage.withUnsafeBufferPointer { xs in
                weight.storage.withUnsafeBufferPointer { ws in
                    sgemm(transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                          a: xs.baseAddress!, b: ws.baseAddress!, beta: hasBias ? 1 : 0, c: ys.baseAddress!)
                }
            }
        }
        return y
    }

    /// `g · M` (rows, in) for each `M` in `weights` (W or |W|).
    private func backwardProducts(_ g: Tensor, inputShape: [Int], weights: [Tensor]) -> [Tensor] {
        let rows = g.count / outFeatures
        return weights.map { weight in
            var out = Tensor(shape: inputShape)
            g.storage.withUnsafeBufferPointer { gs in
                weight.storage.withUnsafeBufferPointer { ws in
                    out.storage.withUnsafeMutableBufferPointer { os in
                        sgemm(m: rows, n: inFeatures, k: outFeatures, a: gs.baseAddress!, b: ws.baseAddress!, c: os.baseAddress!)
                    }
                }
            }
            return out
        }
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

/// Fully connected layer (`nn.Linear`) over the last axis.
///
/// - input `x`: (..., in); output `y`: (..., out)
/// - `weight`: (out, in); `bias`: (out)
///
///     y = x · W^T + b
///
/// Backward: `g · W` (true and detached) and `g · |W|` (twin), computed as
/// one GEMM with the stacked `[W | |W|]` (out, 2*in).
public final class Linear: Layer {
    public let inFeatures, outFeatures: Int
    public let hasBias: Bool
    /// `[out, 2*in]`: each row is `W[o, :]` followed by `|W[o, :]|`; nil until needed.
    private var cachedStackedWeight: [Float]?

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.hasBias = bias
        super.init(name: name)
        registerState("weight", shape: [outFeatures, inFeatures])
        if bias { registerState("bias", shape: [outFeatures]) }
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
        let w = parameter("weight").storage, n = inFeatures
        var stacked = [Float](repeating: 0, count: 2 * w.count)
        for o in 0..<outFeatures {
            for j in 0..<n {
                stacked[o * 2 * n + j] = w[o * n + j]
                stacked[o * 2 * n + n + j] = abs(w[o * n + j])
            }
        }
        return stacked
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

    /// `g · [W]` or `g · [W | |W|]`: (rows, halves*in), split into halves.
    private func backwardProducts(_ g: Tensor, inputShape: [Int], twin: Bool) -> [Tensor] {
        let rows = g.count / outFeatures, halves = twin ? 2 : 1, n = inFeatures
        var product = [Float](repeating: 0, count: rows * halves * n)
        g.storage.withUnsafeBufferPointer { gs in
            stackedWeight.withUnsafeBufferPointer { ws in
                product.withUnsafeMutableBufferPointer { ps in
                    sgemm(m: rows, n: halves * n, k: outFeatures, a: gs.baseAddress!,
                          b: ws.baseAddress!, ldb: 2 * n, c: ps.baseAddress!)
                }
            }
        }
        return (0..<halves).map { half in
            var out = Tensor(shape: inputShape)
            out.storage.withUnsafeMutableBufferPointer { os in
                product.withUnsafeBufferPointer { ps in
                    for r in 0..<rows {
                        (os.baseAddress! + r * n).update(from: ps.baseAddress! + (r * halves + half) * n, count: n)
                    }
                }
            }
            return out
        }
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

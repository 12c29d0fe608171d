import Foundation

/// Layer normalisation over the last axis (`nn.LayerNorm(features, eps)`).
///
/// - input `x`: (..., C); output `y`: (..., C), C = `features`
/// - `weight` (gamma): (C); `bias` (beta): (C)
///
/// Per row (every index of the leading axes), with the biased variance:
///
///     mu  = mean(x),  var = mean((x - mu)^2),  r = 1 / sqrt(var + eps)
///     y   = (x - mu) * r * gamma + beta
///
/// Backward products at the recorded `x` (per row, `xh = (x - mu) * r`):
/// - `vjp` (the unmodified layer, input gradients):
///   `r * (gh - mean(gh) - xh * mean(gh * xh))` with `gh = g * gamma`;
/// - `detachedVJP` (absLRP's `LayerNormalization`: `mu` and `var` are
///   constants): `gamma * r * s`;
/// - `absoluteVJP` (the twin `(|x| - mu_a) r_a |gamma| + |beta|`, with `mu_a`,
///   `var_a` the statistics of `|x|`, also constants): `|gamma| * r_a * s`.
///
/// With `detachesStatistics` false (a LayerNorm the reference does not
/// replace by its `LayerNormalization`, such as the ViT's `norm_pre`, which
/// then gets its generic rule through autograd), `detachedVJP` is the full
/// `vjp`, and `absoluteVJP` the full VJP of the twin `LayerNorm(|x|)` with
/// `|gamma|`, `|beta|` at `|x|` (statistics of `|x|` differentiated too).
///
/// Statistics are not kept on the tape; the backward pass recomputes them
/// from the recorded input (a few flops per element).
///
/// In Vision Transformers the module that owns the parameters is timm's
/// `norm1`/`norm2`/`norm` (state-dict names), while the reference explains
/// the relevance through its own `norm_layer1`/`norm_layer2`/`norm_layer`
/// module sharing those parameters; `traceName` is that name.
public final class LayerNorm: Layer {
    public let features: Int
    public let eps: Float
    /// Name under which backward passes trace the value at this layer's input.
    public let traceName: String
    /// Whether the relevance rules see the mean and variance as constants
    /// (the reference's `LayerNormalization`), or differentiate them.
    public let detachesStatistics: Bool

    /// - Parameters:
    ///   - name: the parameter owner's dotted path (state-dict prefix).
    ///   - traceName: dotted path used for traces (`name` when nil).
    ///   - detachesStatistics: false for a LayerNorm the reference explains unmodified.
    public init(name: String, features: Int, eps: Float = 1e-6, traceName: String? = nil, detachesStatistics: Bool = true) {
        self.features = features
        self.eps = eps
        self.traceName = traceName ?? name
        self.detachesStatistics = detachesStatistics
        super.init(name: name)
        registerState("weight", shape: [features], value: 1)
        registerState("bias", shape: [features])
    }

    /// Mean and `1 / sqrt(var + eps)` of one row of `c` values (of `|x|` when
    /// `absolute`), accumulated in Double in 8 lanes; the variance is the biased one.
    @inline(__always)
    private func moments(_ row: UnsafePointer<Float>, absolute: Bool) -> (mean: Float, invStd: Float) {
        let c = features
        @inline(__always) func value(_ j: Int) -> Double { Double(absolute ? abs(row[j]) : row[j]) }
        @inline(__always) func lanes(_ j: Int) -> SIMD8<Double> {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            return SIMD8<Double>(absolute ? v.replacing(with: -v, where: v .< 0) : v)
        }
        let whole = c - c % 8
        var sums = SIMD8<Double>()
        for j in stride(from: 0, to: whole, by: 8) { sums += lanes(j) }
        var sum = sums.sum()
        for j in whole..<c { sum += value(j) }
        let mean = sum / Double(c)
        var squares = SIMD8<Double>()
        for j in stride(from: 0, to: whole, by: 8) {
            let d = lanes(j) - SIMD8(repeating: mean)
            squares += d * d
        }
        var squareSum = squares.sum()
        for j in whole..<c { squareSum += (value(j) - mean) * (value(j) - mean) }
        let variance = squareSum / Double(c)
        return (Float(mean), Float(1 / (variance + Double(eps)).squareRoot()))
    }

    private func checkShape(_ x: Tensor) {
        precondition(x.rank >= 1 && x.shape.last == features, "\(name): input \(x.shape), expected last axis \(features)")
    }

    override public func apply(_ x: Tensor) -> Tensor {
        checkShape(x)
        let c = features, rows = x.count / max(c, 1)
        let gamma = parameter("weight").storage, beta = parameter("bias").storage
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: x.shape) { ys in
                parallelChunks(rows, minimumChunk: max(1, (1 << 14) / max(c, 1))) { range in
                    for r in range {
                        let row = xs.baseAddress! + r * c, out = ys + r * c
                        let (mean, invStd) = moments(row, absolute: false)
                        for j in 0..<c { out[j] = (row[j] - mean) * invStd * gamma[j] + beta[j] }
                    }
                }
            }
        }
    }

    /// The full LayerNorm backward (statistics differentiated too).
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [fullVJP(g, record.inputs[0], absolute: false)]
    }

    /// The full backward at `x` with `gamma`, or (`absolute`) of the twin at
    /// `|x|` with `|gamma|`: `r * (gh - mean(gh) - xh * mean(gh * xh))`,
    /// `gh = g * gamma`, `xh = (x - mu) * r`, per row.
    private func fullVJP(_ g: Tensor, _ x: Tensor, absolute: Bool) -> Tensor {
        checkShape(x)
        let c = features, rows = x.count / max(c, 1)
        let gamma = parameter("weight").storage.map { absolute ? abs($0) : $0 }
        var out = g
        var gh = [Float](repeating: 0, count: c), xh = gh
        out.storage.withUnsafeMutableBufferPointer { os in
            x.storage.withUnsafeBufferPointer { xs in
                for r in 0..<rows {
                    let row = xs.baseAddress! + r * c
                    let (mean, invStd) = moments(row, absolute: absolute)
                    var meanGh = 0.0, meanGhXh = 0.0
                    for j in 0..<c {
                        xh[j] = ((absolute ? abs(row[j]) : row[j]) - mean) * invStd
                        gh[j] = os[r * c + j] * gamma[j]
                        meanGh += Double(gh[j])
                        meanGhXh += Double(gh[j] * xh[j])
                    }
                    let a = Float(meanGh / Double(c)), b = Float(meanGhXh / Double(c))
                    for j in 0..<c { os[r * c + j] = invStd * (gh[j] - a - xh[j] * b) }
                }
            }
        }
        return out
    }

    /// `s * gamma * r` (or `* |gamma| * r_a` for the twin), row by row.
    private func scaled(_ s: Tensor, _ x: Tensor, absolute: Bool) -> Tensor {
        checkShape(x)
        let c = features, rows = x.count / max(c, 1)
        let gamma = parameter("weight").storage.map { absolute ? abs($0) : $0 }
        var out = s
        out.storage.withUnsafeMutableBufferPointer { os in
            x.storage.withUnsafeBufferPointer { xs in
                for r in 0..<rows {
                    let invStd = moments(xs.baseAddress! + r * c, absolute: absolute).invStd
                    for j in 0..<c { os[r * c + j] *= gamma[j] * invStd }
                }
            }
        }
        return out
    }

    override public func detachedVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [detachesStatistics ? scaled(s, record.inputs[0], absolute: false) : fullVJP(s, record.inputs[0], absolute: false)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [detachesStatistics ? scaled(s, record.inputs[0], absolute: true) : fullVJP(s, record.inputs[0], absolute: true)]
    }

    /// Fused `x * gamma * r * S + |x| * |gamma| * r_a * S`, one pass per row
    /// (with differentiated statistics: the two full products).
    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        guard detachesStatistics else { return super.absLRPContributions(s, record) }
        let x = record.inputs[0]
        checkShape(x)
        let c = features, rows = x.count / max(c, 1)
        let gamma = parameter("weight").storage
        var out = s
        out.storage.withUnsafeMutableBufferPointer { os in
            x.storage.withUnsafeBufferPointer { xs in
                for r in 0..<rows {
                    let row = xs.baseAddress! + r * c
                    let invStd = moments(row, absolute: false).invStd
                    let invStdAbs = moments(row, absolute: true).invStd
                    for j in 0..<c {
                        let xv = row[j]
                        os[r * c + j] *= xv * gamma[j] * invStd + abs(xv) * abs(gamma[j]) * invStdAbs
                    }
                }
            }
        }
        return [out]
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext, normalized: Bool) -> Tensor {
        let result = propagate(r, context, normalized: normalized)[0]
        context.trace(traceName, result)
        return result
    }
}

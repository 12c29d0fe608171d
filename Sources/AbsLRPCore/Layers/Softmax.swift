import CVectorMath
import Foundation

/// Softmax over the last axis (`attn.softmax(dim=-1)`; the reference's
/// `SoftmaxAttention`):
///
///     h = exp(x - max(x)) / sum(exp(x - max(x)))      per row
///
/// - input and output: (..., N), rows of N values.
/// - `vjp` (the unmodified softmax): `h * (g - sum(g * h))` per row.
/// - `detachedVJP` (absLRP: the max and the denominator are constants): `h * s`.
/// - `absoluteVJP` (the twin, softmax of `|x|` with its own max and
///   denominator, also constants): `softmax(|x|) * s`.
/// - absLRP contribution: `x * h * S + |x| * softmax(|x|) * S`.
///
/// `h` is the recorded output; `softmax(|x|)` is recomputed from the
/// recorded input in the backward pass.
public final class Softmax: Layer {
    /// Row length of `t` (its last axis).
    private func rowLength(_ t: Tensor) -> Int {
        precondition(t.rank >= 1 && t.shape.last! > 0, "\(name): cannot take a softmax over shape \(t.shape)")
        return t.shape.last!
    }

    /// Softmax of each row of `x` (of `|x|` when `absolute`): rows in
    /// parallel, `exp` on the vector math library (`cvm_expf`), the row max
    /// and sum in 8 lanes.
    private func softmax(_ x: Tensor, absolute: Bool) -> Tensor {
        let n = rowLength(x), rows = x.count / n
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: x.shape) { out in
                let source = xs.baseAddress!
                parallelChunks(rows, minimumChunk: max(1, (1 << 14) / n)) { range in
                    for r in range {
                        let input = source + r * n, row = out + r * n
                        if absolute { for j in 0..<n { row[j] = abs(input[j]) } } else { row.update(from: input, count: n) }
                        let m = rowMaximum(row, n)
                        for j in 0..<n { row[j] -= m }
                        cvm_expf(row, row, n)
                        let inv = 1 / rowSum(row, n)
                        for j in 0..<n { row[j] *= inv }
                    }
                }
            }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor { softmax(x, absolute: false) }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let h = record.output
        let n = rowLength(h), rows = h.count / n
        var out = g
        out.storage.withUnsafeMutableBufferPointer { os in
            h.storage.withUnsafeBufferPointer { hs in
                for r in 0..<rows {
                    var dot: Float = 0
                    for j in (r * n)..<((r + 1) * n) { dot += os[j] * hs[j] }
                    for j in (r * n)..<((r + 1) * n) { os[j] = hs[j] * (os[j] - dot) }
                }
            }
        }
        return [out]
    }

    override public func detachedVJP(_ s: Tensor, _ record: Record) -> [Tensor] { [s * record.output] }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [s * softmax(record.inputs[0], absolute: true)]
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let x = record.inputs[0], h = record.output
        var out = softmax(x, absolute: true)
        out.storage.withUnsafeMutableBufferPointer { os in
            x.storage.withUnsafeBufferPointer { xs in
                h.storage.withUnsafeBufferPointer { hs in
                    s.storage.withUnsafeBufferPointer { ss in
                        for j in os.indices { os[j] = ss[j] * (xs[j] * hs[j] + abs(xs[j]) * os[j]) }
                    }
                }
            }
        }
        return [out]
    }
}

/// `max(p[0..<n])`, `n >= 1`, in 8 lanes.
@inline(__always)
private func rowMaximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: p[0])
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        lanes.replace(with: v, where: v .> lanes)  // inlined, unlike `pointwiseMax` (a call per vector)
        i += 8
    }
    var m = lanes.max()
    while i < n { m = max(m, p[i]); i += 1 }
    return m
}

/// `sum(p[0..<n])` in 8 lanes.
@inline(__always)
private func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        lanes += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < n { total += p[i]; i += 1 }
    return total
}

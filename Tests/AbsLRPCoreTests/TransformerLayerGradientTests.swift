import XCTest
import Foundation
@testable import AbsLRPCore

/// Backward products of the transformer layers against Double-precision
/// references.
///
/// Each layer's function is re-written here in Double (plainly, from its
/// formula), and the reference VJP at `x` for a cotangent `g` is the central
/// difference of `phi(x) = <g, f(x)>` in Double with step h = 1e-6. Its error
/// is the truncation term (h^2 / 6) |phi'''| ~ 1e-12 plus rounding
/// ~ 1e-16 / h = 1e-10, on values of order 1: negligible. The layers compute
/// in Float (rounding 6e-8 per operation, sums of at most a few dozen terms
/// here), so they are held to `|ours - ref| <= 1e-4 |ref| + 1e-5 max|ref|`,
/// two orders of magnitude above float32 rounding and far below any
/// formula error (a wrong term changes values by O(1) relative).
///
/// - "detached" VJPs are derivatives with the LayerNorm mean/variance or the
///   softmax max/denominator frozen at their values at `x`;
/// - absolute twins: the VJP `J_{f_abs}(|x|)^T s` times `sign(x)` is the
///   derivative of `<s, f_abs(|x|)>` with respect to `x` (inputs are kept
///   away from 0, where `|x|` is not differentiable).
final class TransformerLayerGradientTests: XCTestCase {
    // MARK: - Helpers

    /// Standard normal values.
    static func normal(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(shape: shape) { _ in scale * rng.nextNormal() }
    }

    /// Values of random sign with magnitude at least 0.2 (away from the kink of |x|).
    static func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        return Tensor(shape: shape) { _ in
            let m = 0.2 + abs(rng.nextNormal())
            return rng.nextUniform() < 0.5 ? -m : m
        }
    }

    static func doubles(_ t: Tensor) -> [Double] { t.storage.map(Double.init) }

    /// Central difference of `<g, f(x)>` with respect to every `x_i`, in Double.
    static func numericVJP(_ f: ([Double]) -> [Double], at x: [Double], _ g: [Double], step h: Double = 1e-6) -> [Double] {
        func phi(_ v: [Double]) -> Double { zip(g, f(v)).reduce(0) { $0 + $1.0 * $1.1 } }
        var v = x
        return (0..<x.count).map { i in
            v[i] = x[i] + h
            let plus = phi(v)
            v[i] = x[i] - h
            let minus = phi(v)
            v[i] = x[i]
            return (plus - minus) / (2 * h)
        }
    }

    /// `ours` against a Double reference: `|a - r| <= 1e-4 |r| + 1e-5 max|r|`.
    static func assertMatches(_ ours: Tensor, _ reference: [Double], _ label: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, reference.count, label, file: file, line: line)
        guard ours.count == reference.count else { return }
        let scale = Float(reference.map(abs).max() ?? 0)
        XCTAssertGreaterThan(scale, 0, "\(label): reference is all zeros (test would be vacuous)", file: file, line: line)
        assertClose(ours, Tensor(shape: ours.shape, storage: reference.map(Float.init)), rtol: 1e-4, atol: 1e-5 * scale,
                    label, file: file, line: line)
    }

    static func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }

    /// `t / (sum|t| + 1e-9)` per sample, in Double.
    static func normalizedSum(_ t: [Double], batch: Int) -> [Double] {
        let n = t.count / batch
        return (0..<batch).flatMap { b -> [Double] in
            let row = t[(b * n)..<((b + 1) * n)]
            let d = row.reduce(0) { $0 + abs($1) } + 1e-9
            return row.map { $0 / d }
        }
    }

    /// The absLRP relevance of input `i` in Double:
    /// `normalize_sum(x_i * d/dx_i <S, f(x) + f_abs(|x|)>)`, `S = R / (|f(x)| + 1e-9)`.
    /// `f` and `fAbsAtAbs` take all inputs concatenated; `fAbsAtAbs(x)` must
    /// evaluate the twin at `|x|` with statistics frozen at the recorded input.
    static func absLRPReference(_ f: ([Double]) -> [Double], detached: ([Double]) -> [Double],
                                twinAtAbs: ([Double]) -> [Double], inputs: [[Double]], relevance r: [Double],
                                batch: Int) -> [[Double]] {
        let x = inputs.flatMap { $0 }
        let s = zip(r, f(x)).map { $0 / (abs($1) + 1e-9) }
        let g = numericVJP({ v in zip(detached(v), twinAtAbs(v)).map { $0 + $1 } }, at: x, s)
        var offset = 0
        return inputs.map { part in
            defer { offset += part.count }
            let contribution = (0..<part.count).map { part[$0] * g[offset + $0] }
            return normalizedSum(contribution, batch: batch)
        }
    }

    /// Runs `layer` forward with a tape and one absLRP backward from `r`.
    static func absLRP(_ layer: Layer, _ x: Tensor, _ r: Tensor) -> Tensor {
        let tape = Tape()
        _ = layer.forward(x, ForwardContext(tape: tape))
        return layer.backward(r, BackwardContext(tape: tape, rules: RuleMap(fallback: AbsLRPRule())))
    }

    static func absLRP(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor, _ r: Tensor) -> (Tensor, Tensor) {
        let tape = Tape()
        _ = op.forward(a, b, ForwardContext(tape: tape))
        return op.backward2(r, BackwardContext(tape: tape, rules: RuleMap(fallback: AbsLRPRule())))
    }

    /// Checks the product of two inputs `op` at `(a, b)` against `f` in
    /// Double: the forward, both VJPs against central differences, the
    /// detached VJP (equal to the VJP), the absolute twin's VJPs times the
    /// inputs' signs against those of `twin` (the twin as a function of the
    /// signed inputs, such as `|c q| @ |k|^T`), and the absLRP relevance of
    /// both inputs against ``absLRPReference`` (`batch` images).
    /// - Returns: the record and the VJPs, for checks of their shapes.
    @discardableResult
    static func assertProductOfTwo(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor, gradient g: Tensor, batch: Int,
                                   _ f: ([Double], [Double]) -> [Double], twin: ([Double], [Double]) -> [Double],
                                   _ label: String, file: StaticString = #filePath, line: UInt = #line)
        -> (record: Record, vjp: [Tensor]) {
        let (a0, b0, g0) = (doubles(a), doubles(b), doubles(g))
        let record = Record(inputs: [a, b], output: op.apply(a, b))
        assertMatches(record.output, f(a0, b0), "\(label): forward", file: file, line: line)
        let vjp = op.vjp(g, record)
        assertMatches(vjp[0], numericVJP({ f($0, b0) }, at: a0, g0), "\(label): VJP for the first input", file: file, line: line)
        assertMatches(vjp[1], numericVJP({ f(a0, $0) }, at: b0, g0), "\(label): VJP for the second input", file: file, line: line)
        XCTAssertEqual(op.detachedVJP(g, record), vjp, "\(label): detached VJP", file: file, line: line)
        let absolute = op.absoluteVJP(g, record)
        assertMatches(absolute[0] * a.map(signum), numericVJP({ twin($0, b0) }, at: a0, g0),
                      "\(label): twin's VJP for the first input * its sign", file: file, line: line)
        assertMatches(absolute[1] * b.map(signum), numericVJP({ twin(a0, $0) }, at: b0, g0),
                      "\(label): twin's VJP for the second input * its sign", file: file, line: line)
        let n = a0.count
        let expected = absLRPReference({ x in f(Array(x[..<n]), Array(x[n...])) },
                                       detached: { x in f(Array(x[..<n]), Array(x[n...])) },
                                       twinAtAbs: { x in twin(Array(x[..<n]), Array(x[n...])) },
                                       inputs: [a0, b0], relevance: g0, batch: batch)
        let (ra, rb) = absLRP(op, a, b, g)
        assertMatches(ra, expected[0], "\(label): absLRP relevance of the first input", file: file, line: line)
        assertMatches(rb, expected[1], "\(label): absLRP relevance of the second input", file: file, line: line)
        return (record, vjp)
    }

    // MARK: - Double references of the functions

    /// LayerNorm over rows of `c`, with the statistics of `statsFrom` (of `x` when nil).
    static func layerNorm(_ x: [Double], c: Int, gamma: [Double], beta: [Double], eps: Double,
                          statsFrom: [Double]? = nil) -> [Double] {
        let source = statsFrom ?? x
        var y = x
        for r in 0..<(x.count / c) {
            let row = source[(r * c)..<((r + 1) * c)]
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
            for j in 0..<c { y[r * c + j] = (x[r * c + j] - mean) / (variance + eps).squareRoot() * gamma[j] + beta[j] }
        }
        return y
    }

    /// Softmax over rows of `n`, with max and denominator from `statsFrom` (from `x` when nil).
    static func softmax(_ x: [Double], n: Int, statsFrom: [Double]? = nil) -> [Double] {
        let source = statsFrom ?? x
        var y = x
        for r in 0..<(x.count / n) {
            let row = source[(r * n)..<((r + 1) * n)]
            let m = row.max()!
            let denominator = row.reduce(0) { $0 + exp($1 - m) }
            for j in 0..<n { y[r * n + j] = exp(x[r * n + j] - m) / denominator }
        }
        return y
    }

    static func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    /// `op(A_i) op(B_i)` for `count` matrices by explicit loops.
    static func product(_ a: [Double], _ b: [Double], count: Int, m: Int, n: Int, k: Int,
                        transposeA: Bool = false, transposeB: Bool = false) -> [Double] {
        var y = [Double](repeating: 0, count: count * m * n)
        for i in 0..<count {
            for r in 0..<m {
                for c in 0..<n {
                    var sum = 0.0
                    for t in 0..<k {
                        let av = transposeA ? a[i * k * m + t * m + r] : a[i * m * k + r * k + t]
                        let bv = transposeB ? b[i * n * k + c * k + t] : b[i * k * n + t * n + c]
                        sum += av * bv
                    }
                    y[i * m * n + r * n + c] = sum
                }
            }
        }
        return y
    }

    // MARK: - LayerNorm

    private func makeLayerNorm(_ c: Int) -> LayerNorm {
        let layer = LayerNorm(name: "ln", features: c, eps: 1e-6)
        layer.setParameter("weight", Self.awayFromZero([c], seed: 21))
        layer.setParameter("bias", Self.normal([c], seed: 22, scale: 0.5))
        return layer
    }

    func testLayerNormForwardAndVJPs() {
        let c = 5
        let layer = makeLayerNorm(c)
        let x = Self.awayFromZero([2, 3, c], seed: 1), g = Self.normal([2, 3, c], seed: 2)
        let gamma = Self.doubles(layer.parameter("weight")), beta = Self.doubles(layer.parameter("bias"))
        let x0 = Self.doubles(x), g0 = Self.doubles(g)
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(record.output, Self.layerNorm(x0, c: c, gamma: gamma, beta: beta, eps: 1e-6), "LayerNorm forward")

        let full = Self.numericVJP({ Self.layerNorm($0, c: c, gamma: gamma, beta: beta, eps: 1e-6) }, at: x0, g0)
        Self.assertMatches(layer.vjp(g, record)[0], full, "LayerNorm true VJP")

        let detached = Self.numericVJP({ Self.layerNorm($0, c: c, gamma: gamma, beta: beta, eps: 1e-6, statsFrom: x0) },
                                       at: x0, g0)
        Self.assertMatches(layer.detachedVJP(g, record)[0], detached, "LayerNorm detached VJP")

        // Twin: |gamma|, |beta|, statistics of |x| frozen, evaluated at |x|.
        let absGamma = gamma.map(abs), absBeta = beta.map(abs), absX0 = x0.map(abs)
        let twin = Self.numericVJP({ v in
            Self.layerNorm(v.map(abs), c: c, gamma: absGamma, beta: absBeta, eps: 1e-6, statsFrom: absX0)
        }, at: x0, g0)
        Self.assertMatches(layer.absoluteVJP(g, record)[0] * x.map(signum), twin, "LayerNorm twin VJP * sign(x)")
        // The true and detached VJPs really differ (the statistics matter here).
        XCTAssertGreaterThan(maxAbsDifference(layer.vjp(g, record)[0], layer.detachedVJP(g, record)[0]), 0.1)
    }

    func testLayerNormAbsLRPRelevance() {
        let c = 6
        let layer = makeLayerNorm(c)
        let x = Self.awayFromZero([2, 2, c], seed: 3), r = Self.normal([2, 2, c], seed: 4)
        let gamma = Self.doubles(layer.parameter("weight")), beta = Self.doubles(layer.parameter("bias"))
        let x0 = Self.doubles(x)
        let expected = Self.absLRPReference(
            { Self.layerNorm($0, c: c, gamma: gamma, beta: beta, eps: 1e-6) },
            detached: { Self.layerNorm($0, c: c, gamma: gamma, beta: beta, eps: 1e-6, statsFrom: x0) },
            twinAtAbs: { Self.layerNorm($0.map(abs), c: c, gamma: gamma.map(abs), beta: beta.map(abs), eps: 1e-6,
                                        statsFrom: x0.map(abs)) },
            inputs: [x0], relevance: Self.doubles(r), batch: 2)
        Self.assertMatches(Self.absLRP(layer, x, r), expected[0], "LayerNorm absLRP relevance")
    }

    /// Rows long enough for the vector lanes (and a tail) and enough rows for
    /// the parallel chunks: LayerNorm over 77 features, 500 rows.
    func testLayerNormOnManyLongRowsMatchesNaiveLoop() {
        let c = 77
        let layer = makeLayerNorm(c)
        let x = Self.normal([2, 250, c], seed: 31, scale: 3) + Tensor(shape: [2, 250, c], repeating: 0.7)
        let gamma = Self.doubles(layer.parameter("weight")), beta = Self.doubles(layer.parameter("bias"))
        let x0 = Self.doubles(x), s = Self.normal([2, 250, c], seed: 32)
        Self.assertMatches(layer.apply(x), Self.layerNorm(x0, c: c, gamma: gamma, beta: beta, eps: 1e-6), "LayerNorm forward")
        // The twin's VJP with the statistics of |x| constant: |gamma| s / sqrt(var(|x|) + eps), per row.
        let absX0 = x0.map(abs), s0 = Self.doubles(s)
        let twin = (0..<(x0.count / c)).flatMap { r -> [Double] in
            let row = absX0[(r * c)..<((r + 1) * c)]
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
            return (0..<c).map { j in s0[r * c + j] * abs(gamma[j]) / (variance + 1e-6).squareRoot() }
        }
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(layer.absoluteVJP(s, record)[0], twin, "LayerNorm twin VJP")
    }

    /// Softmax rows of 197 (ViT-B's token count: 24 vectors of 8 and a tail
    /// of 5) and 200 rows, so the vector `exp`, the lane-wise max and sum and
    /// the parallel row chunks all run; forward and the twin `softmax(|x|)`.
    func testSoftmaxOnManyLongRowsMatchesNaiveLoop() {
        let n = 197
        let layer = Softmax(name: "softmax")
        let x = Self.normal([2, 100, n], seed: 33, scale: 4), ones = Tensor(shape: [2, 100, n], repeating: 1)
        let x0 = Self.doubles(x)
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(record.output, Self.softmax(x0, n: n), "softmax forward")
        Self.assertMatches(layer.absoluteVJP(ones, record)[0], Self.softmax(x0.map(abs), n: n), "softmax of |x|")
    }

    // MARK: - Softmax

    func testSoftmaxForwardAndVJPs() {
        let n = 6
        let layer = Softmax(name: "softmax")
        let x = Self.awayFromZero([2, 3, n], seed: 5), g = Self.normal([2, 3, n], seed: 6)
        let x0 = Self.doubles(x), g0 = Self.doubles(g)
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(record.output, Self.softmax(x0, n: n), "softmax forward")
        Self.assertMatches(layer.vjp(g, record)[0], Self.numericVJP({ Self.softmax($0, n: n) }, at: x0, g0), "softmax true VJP")
        Self.assertMatches(layer.detachedVJP(g, record)[0],
                           Self.numericVJP({ Self.softmax($0, n: n, statsFrom: x0) }, at: x0, g0), "softmax detached VJP")
        let absX0 = x0.map(abs)
        Self.assertMatches(layer.absoluteVJP(g, record)[0] * x.map(signum),
                           Self.numericVJP({ Self.softmax($0.map(abs), n: n, statsFrom: absX0) }, at: x0, g0),
                           "softmax twin VJP * sign(x)")
    }

    func testSoftmaxAbsLRPRelevance() {
        let n = 5
        let layer = Softmax(name: "softmax")
        let x = Self.awayFromZero([2, 3, n], seed: 7), r = Self.normal([2, 3, n], seed: 8)
        let x0 = Self.doubles(x)
        let expected = Self.absLRPReference(
            { Self.softmax($0, n: n) }, detached: { Self.softmax($0, n: n, statsFrom: x0) },
            twinAtAbs: { Self.softmax($0.map(abs), n: n, statsFrom: x0.map(abs)) },
            inputs: [x0], relevance: Self.doubles(r), batch: 2)
        Self.assertMatches(Self.absLRP(layer, x, r), expected[0], "softmax absLRP relevance")
    }

    // MARK: - GELU

    func testGELUForwardAndVJPs() {
        let layer = GELU(name: "act")
        // Include values near the curvature of GELU (|x| < 2) and in the tails.
        let x = Self.awayFromZero([4, 5], seed: 9) * 1.5, g = Self.normal([4, 5], seed: 10)
        let x0 = Self.doubles(x), g0 = Self.doubles(g)
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(record.output, x0.map(Self.gelu), "GELU forward")
        Self.assertMatches(layer.vjp(g, record)[0], Self.numericVJP({ $0.map(Self.gelu) }, at: x0, g0), "GELU VJP")
        Self.assertMatches(layer.absoluteVJP(g, record)[0] * x.map(signum),
                           Self.numericVJP({ $0.map { Self.gelu(abs($0)) } }, at: x0, g0), "GELU twin VJP * sign(x)")
        let expected = Self.absLRPReference({ $0.map(Self.gelu) }, detached: { $0.map(Self.gelu) },
                                            twinAtAbs: { $0.map { Self.gelu(abs($0)) } },
                                            inputs: [x0], relevance: g0, batch: 4)
        Self.assertMatches(Self.absLRP(layer, x, g), expected[0], "GELU absLRP relevance")
    }

    /// The four maps of the GELU kernel (`cvm_gelu`) over a tensor of several
    /// parallel parts and a vector tail, against naive Double loops of the
    /// formulas (signs mixed, tails of |x| up to about 6).
    func testGELUMapsOfLargeTensorsMatchNaiveLoops() {
        let layer = GELU(name: "act")
        let n = 3 * 8192 + 13
        let x = Self.normal([n], seed: 31, scale: 2), v = Self.normal([n], seed: 32)
        let (x0, v0) = (Self.doubles(x), Self.doubles(v))
        func derivative(_ t: Double) -> Double { 0.5 * (1 + erf(t / 2.0.squareRoot())) + t * exp(-t * t / 2) / (2 * Double.pi).squareRoot() }
        let record = Record(inputs: [x], output: layer.apply(x))
        Self.assertMatches(record.output, x0.map(Self.gelu), "GELU forward")
        Self.assertMatches(layer.vjp(v, record)[0], zip(x0, v0).map { derivative($0) * $1 }, "GELU VJP")
        Self.assertMatches(layer.absoluteVJP(v, record)[0], zip(x0, v0).map { derivative(abs($0)) * $1 }, "GELU twin VJP")
        Self.assertMatches(layer.absLRPContributions(v, record)[0],
                           zip(x0, v0).map { $0 * derivative($0) * $1 + abs($0) * derivative(abs($0)) * $1 }, "GELU contribution")
    }

    // MARK: - Attention products

    /// `(c q) @ k^T` with the attention's scale and without it (c = 1).
    func testQKMultiplyVJPsAndTwin() {
        for c in [1, -0.35] as [Double] {
            let (count, m, n, d) = (4, 3, 5, 4)
            let op = QKMultiply(name: "qk", scale: Float(c))
            let q = Self.awayFromZero([2, 2, m, d], seed: 11), k = Self.awayFromZero([2, 2, n, d], seed: 12)
            let g = Self.normal([2, 2, m, n], seed: 13)
            func f(_ q: [Double], _ k: [Double]) -> [Double] {
                Self.product(q.map { c * $0 }, k, count: count, m: m, n: n, k: d, transposeB: true)
            }
            // the twin |c q| @ |k|^T, as a function of (q, k)
            func twinOf(_ q: [Double], _ k: [Double]) -> [Double] { f(q.map { abs($0) * (c < 0 ? -1 : 1) }, k.map(abs)) }
            Self.assertProductOfTwo(op, q, k, gradient: g, batch: 2, f, twin: twinOf, "c q @ k^T, c = \(c)")
        }
    }

    func testAttentionVMultiplyVJPsAndTwin() {
        let (count, m, n, d) = (4, 3, 5, 4)
        let op = AttentionVMultiply(name: "av")
        let a = Self.awayFromZero([2, 2, m, n], seed: 14), v = Self.awayFromZero([2, 2, n, d], seed: 15)
        let g = Self.normal([2, 2, m, d], seed: 16)
        func f(_ a: [Double], _ v: [Double]) -> [Double] { Self.product(a, v, count: count, m: m, n: d, k: n) }
        Self.assertProductOfTwo(op, a, v, gradient: g, batch: 2, f, twin: { f($0.map(abs), $1.map(abs)) }, "a @ v")
    }

    /// Part `part` of a fused (B, T, 3*H*D) projection as (B, H, T, D), by index loops.
    static func fusedPart(_ qkv: [Double], batch: Int, heads: Int, tokens: Int, d: Int, part: Int) -> [Double] {
        var out = [Double](repeating: 0, count: batch * heads * tokens * d)
        for b in 0..<batch { for h in 0..<heads { for t in 0..<tokens { for j in 0..<d {
            out[((b * heads + h) * tokens + t) * d + j] = qkv[(b * tokens + t) * 3 * heads * d + (part * heads + h) * d + j]
        } } } }
        return out
    }

    /// The products reading q, k, v in place from a fused (B, T, 3*H*D) qkv
    /// tensor (`HeadOperand.fused`), as attention runs them: forward, VJPs
    /// (with respect to the whole qkv input: zero outside the part), twin and
    /// absLRP relevance against index loops and central differences in Double.
    func testAttentionProductsOnFusedQKV() {
        let (batch, heads, tokens, d) = (2, 3, 5, 4)
        let c = -0.35
        let qkv = Self.awayFromZero([batch, tokens, 3 * heads * d], seed: 31)
        func part(_ x: [Double], _ p: Int) -> [Double] { Self.fusedPart(x, batch: batch, heads: heads, tokens: tokens, d: d, part: p) }
        func fused(_ p: Int) -> HeadOperand { .fused(heads: heads, parts: 3, part: p) }
        let count = batch * heads

        // (c q) @ k^T, q from part 0 of the first input, k from part 1 of the second
        let qk = QKMultiply(name: "qk", scale: Float(c), q: fused(0), k: fused(1))
        func fqk(_ x: [Double], _ y: [Double]) -> [Double] {
            Self.product(part(x, 0).map { c * $0 }, part(y, 1), count: count, m: tokens, n: tokens, k: d, transposeB: true)
        }
        func twinQK(_ x: [Double], _ y: [Double]) -> [Double] {
            Self.product(part(x, 0).map { abs(c * $0) }, part(y, 1).map(abs), count: count, m: tokens, n: tokens, k: d, transposeB: true)
        }
        let g = Self.normal([batch, heads, tokens, tokens], seed: 33)
        let (qkRecord, qkVJP) = Self.assertProductOfTwo(qk, qkv, qkv, gradient: g, batch: batch, fqk, twin: twinQK,
                                                        "fused (c q) @ k^T")
        XCTAssertEqual(qkRecord.output.shape, [batch, heads, tokens, tokens])
        XCTAssertEqual(qkVJP[0].shape, qkv.shape)

        // a @ v, v from part 2 of the second input, written as (B, T, H*D)
        let av = AttentionVMultiply(name: "av", v: fused(2))
        let a = Self.awayFromZero([batch, heads, tokens, tokens], seed: 32)
        /// Per-head products, then (B, H, T, D) -> (B, T, H*D).
        func fav(_ a: [Double], _ x: [Double]) -> [Double] {
            let p = Self.product(a, part(x, 2), count: count, m: tokens, n: d, k: tokens)
            var y = [Double](repeating: 0, count: p.count)
            for b in 0..<batch { for h in 0..<heads { for i in 0..<tokens { for j in 0..<d {
                y[(b * tokens + i) * heads * d + h * d + j] = p[((b * heads + h) * tokens + i) * d + j]
            } } } }
            return y
        }
        let gv = Self.normal([batch, tokens, heads * d], seed: 34)
        let (avRecord, avVJP) = Self.assertProductOfTwo(av, a, qkv, gradient: gv, batch: batch, fav,
                                                        twin: { fav($0.map(abs), $1.map(abs)) }, "fused a @ v")
        XCTAssertEqual(avRecord.output.shape, [batch, tokens, heads * d])
        XCTAssertEqual(avVJP[1].shape, qkv.shape)
    }

    /// The sgemm-batched products against explicit triple loops, on odd
    /// shapes (several batch axes, non-square, extents 1 and prime) and
    /// without batch axes. Sums of at most 7 products in Float: bound 1e-5
    /// relative to the largest value.
    func testAttentionProductsAgainstNaiveLoops() {
        let cases: [(leading: [Int], m: Int, n: Int, d: Int)] = [([2, 3], 5, 7, 3), ([3], 1, 4, 1), ([], 3, 2, 5), ([1, 1, 2], 7, 1, 2)]
        for (index, shape) in cases.enumerated() {
            let (lead, m, n, d) = shape
            let count = lead.reduce(1, *)
            let seed = UInt64(100 + 10 * index)
            let q = Self.normal(lead + [m, d], seed: seed), k = Self.normal(lead + [n, d], seed: seed + 1)
            let a = Self.normal(lead + [m, n], seed: seed + 2), v = Self.normal(lead + [n, d], seed: seed + 3)
            let gqk = Self.normal(lead + [m, n], seed: seed + 4), gav = Self.normal(lead + [m, d], seed: seed + 5)
            let (q0, k0, a0, v0) = (Self.doubles(q), Self.doubles(k), Self.doubles(a), Self.doubles(v))
            let (gqk0, gav0) = (Self.doubles(gqk), Self.doubles(gav))
            let label = "shape \(shape)"
            func loops(_ x: [Double], _ y: [Double], _ m: Int, _ n: Int, _ k: Int, tA: Bool = false, tB: Bool = false) -> [Double] {
                Self.product(x, y, count: count, m: m, n: n, k: k, transposeA: tA, transposeB: tB)
            }
            func check(_ ours: Tensor, _ ref: [Double], _ what: String) {
                let scale = Float(ref.map(abs).max() ?? 0)
                assertClose(ours, Tensor(shape: ours.shape, storage: ref.map(Float.init)), atol: 1e-5 * max(scale, 1e-3), "\(label) \(what)")
            }

            let qk = QKMultiply(name: "qk")
            let qkRecord = Record(inputs: [q, k], output: qk.apply(q, k))
            XCTAssertEqual(qkRecord.output.shape, lead + [m, n])
            check(qkRecord.output, loops(q0, k0, m, n, d, tB: true), "q @ k^T")
            let qkVJP = qk.vjp(gqk, qkRecord), qkTwin = qk.absoluteVJP(gqk, qkRecord)
            check(qkVJP[0], loops(gqk0, k0, m, d, n), "g @ k")
            check(qkVJP[1], loops(gqk0, q0, n, d, m, tA: true), "g^T @ q")
            check(qkTwin[0], loops(gqk0, k0.map(abs), m, d, n), "g @ |k|")
            check(qkTwin[1], loops(gqk0, q0.map(abs), n, d, m, tA: true), "g^T @ |q|")

            let av = AttentionVMultiply(name: "av")
            let avRecord = Record(inputs: [a, v], output: av.apply(a, v))
            XCTAssertEqual(avRecord.output.shape, lead + [m, d])
            check(avRecord.output, loops(a0, v0, m, d, n), "a @ v")
            let avVJP = av.vjp(gav, avRecord), avTwin = av.absoluteVJP(gav, avRecord)
            check(avVJP[0], loops(gav0, v0, m, n, d, tB: true), "g @ v^T")
            check(avVJP[1], loops(a0, gav0, n, d, m, tA: true), "a^T @ g")
            check(avTwin[0], loops(gav0, v0.map(abs), m, n, d, tB: true), "g @ |v|^T")
            check(avTwin[1], loops(a0.map(abs), gav0, n, d, m, tA: true), "|a|^T @ g")
        }
    }

    // MARK: - Position embedding and class-token pool

    func testPositionEmbedVJPsAndRelevance() {
        let op = PositionEmbed(name: "position_embed")
        let x = Self.awayFromZero([2, 3, 4], seed: 17), p = Self.awayFromZero([1, 3, 4], seed: 18)
        let g = Self.normal([2, 3, 4], seed: 19)
        let tape = Tape()
        let y = op.forward(x, embedding: p, ForwardContext(tape: tape))
        let expanded = Array([[Float]](repeating: p.storage, count: 2).joined())
        let (x0, p0, g0) = (Self.doubles(x), expanded.map(Double.init), Self.doubles(g))
        func f(_ x: [Double], _ p: [Double]) -> [Double] { zip(x, p).map { $0 + $1 } }
        Self.assertMatches(y, f(x0, p0), "x + p forward (p broadcast over the batch)")
        let record = tape.record(for: op)
        XCTAssertEqual(record.inputs[1].shape, [2, 3, 4], "the embedding is recorded expanded, as the reference's")
        let vjp = op.vjp(g, record)
        Self.assertMatches(vjp[0], Self.numericVJP({ f($0, p0) }, at: x0, g0), "x + p VJP for x")
        Self.assertMatches(vjp[1], Self.numericVJP({ f(x0, $0) }, at: p0, g0), "x + p VJP for p")
        Self.assertMatches(op.absoluteVJP(g, record)[1] * record.inputs[1].map(signum),
                           Self.numericVJP({ f(x0.map(abs), $0.map(abs)) }, at: p0, g0), "|x| + |p| VJP for p * sign(p)")

        let expected = Self.absLRPReference(
            { v in f(Array(v[..<x0.count]), Array(v[x0.count...])) },
            detached: { v in f(Array(v[..<x0.count]), Array(v[x0.count...])) },
            twinAtAbs: { v in f(v[..<x0.count].map(abs), v[x0.count...].map(abs)) },
            inputs: [x0, p0], relevance: g0, batch: 2)
        let traced = BackwardContext(tape: tape, rules: RuleMap(fallback: AbsLRPRule()), recordTraces: true)
        let (rx, rp) = op.backward2(g, traced)
        Self.assertMatches(rx, expected[0], "x + p absLRP relevance of x")
        Self.assertMatches(rp, expected[1], "x + p absLRP relevance of p")
        XCTAssertEqual(Set(traced.traces!.keys), ["position_embed.0", "position_embed.1"])
    }

    func testClassTokenPoolVJPsAndRelevance() {
        let layer = ClassTokenPool(name: "cls_pool")
        let x = Self.awayFromZero([2, 3, 4], seed: 23), g = Self.normal([2, 4], seed: 24)
        let (x0, g0) = (Self.doubles(x), Self.doubles(g))
        func f(_ x: [Double]) -> [Double] { (0..<2).flatMap { b in x[(b * 12)..<(b * 12 + 4)] } }
        let record = Record(inputs: [x], output: layer.apply(x))
        XCTAssertEqual(record.output.shape, [2, 4])
        Self.assertMatches(record.output, f(x0), "x[:, 0] forward")
        Self.assertMatches(layer.vjp(g, record)[0], Self.numericVJP(f, at: x0, g0), "x[:, 0] VJP")
        Self.assertMatches(layer.absoluteVJP(g, record)[0] * x.map(signum),
                           Self.numericVJP({ f($0.map(abs)) }, at: x0, g0), "|x|[:, 0] VJP * sign(x)")
        let expected = Self.absLRPReference(f, detached: f, twinAtAbs: { f($0.map(abs)) },
                                            inputs: [x0], relevance: g0, batch: 2)
        Self.assertMatches(Self.absLRP(layer, x, g), expected[0], "x[:, 0] absLRP relevance")
    }
}

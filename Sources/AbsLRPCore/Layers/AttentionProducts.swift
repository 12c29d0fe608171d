/// The two matrix products of self-attention, as two-input operations (the
/// reference's `QKMultiply` and `AttentionVMultiply`). Both act on batches of
/// matrices, one `sgemm` per matrix of the batch. Each operand is either its
/// own tensor, a packed batch (..., rows, cols) whose every axis but the last
/// two is a batch axis, or read in place from the fused projection that
/// attention computes q, k and v with (`HeadOperand.fused`): no per-head copy
/// of q, k or v exists, in the forward pass or in any backward pass.

/// Where a product finds its operand in one of its input tensors.
public enum HeadOperand: Equatable, Sendable {
    /// The input is the operand: a packed batch of matrices (..., rows, cols).
    case packed
    /// The input is a fused projection (B, T, parts * H * d) laid out as
    /// (B, T, parts, H, d) (timm's qkv output, parts = 3), and the operand is
    /// its part `part` per head, the (B, H) matrices of T x d that
    /// `qkv.reshape(B, T, 3, H, d).permute(2, 0, 3, 1, 4)[part]` views:
    ///
    ///     operand[b, h, t, j] = input[b, t, part*H*d + h*d + j]
    ///
    /// read in place (row stride parts*H*d). The input's VJP and relevance
    /// are then with respect to the whole fused tensor, zero outside the part,
    /// as autograd accumulates them at the base of a view; attention adds the
    /// three parts' shares.
    case fused(heads: Int, parts: Int, part: Int)

    /// The matrices of this operand inside `input`.
    func layout(in input: Tensor) -> MatrixLayout {
        switch self {
        case .packed: return .packed(input.shape)
        case let .fused(heads, parts, part):
            precondition(input.rank == 3 && input.shape[2] % (parts * heads) == 0 && part < parts,
                         "fused operand: \(input.shape) is not (B, T, \(parts) x \(heads) heads x d)")
            return .heads(batch: input.shape[0], heads: heads, rows: input.shape[1],
                          cols: input.shape[2] / (parts * heads), parts: parts, part: part)
        }
    }

    /// The batch axes of the operand's matrices: (B, H) when fused.
    func batchAxes(of input: Tensor) -> [Int] {
        guard case let .fused(heads, _, _) = self else { return Array(input.shape.dropLast(2)) }
        return [input.shape[0], heads]
    }

    /// Shape and layout of a tensor that holds only the operand: the input's
    /// own when packed, (B, T, H*d) in the merged-heads layout when fused.
    func compact(of input: Tensor) -> (shape: [Int], layout: MatrixLayout) {
        guard case let .fused(heads, _, _) = self else { return (input.shape, .packed(input.shape)) }
        let l = layout(in: input)
        return ([input.shape[0], l.rows, heads * l.cols],
                .heads(batch: input.shape[0], heads: heads, rows: l.rows, cols: l.cols, parts: 1, part: 0))
    }

    /// `|operand|` as its own tensor laid out as `compact(of:)`.
    func absolute(of input: Tensor) -> (Tensor, MatrixLayout) {
        guard case .fused = self else { return (input.absolute, .packed(input.shape)) }
        let (shape, lc) = compact(of: input)
        return (gathered(input, shape: shape, lc, Magnitude()), lc)
    }

    /// The operand as a packed (B, H, T, d) tensor (for traces; a copy).
    func packedHeads(of input: Tensor) -> Tensor {
        guard case let .fused(heads, _, _) = self else { return input }
        let l = layout(in: input), shape = [input.shape[0], heads, l.rows, l.cols]
        return gathered(input, shape: shape, .packed(shape), Unchanged())
    }

    /// `f` of the operand's values, in a new tensor of `shape` laid out as `lc`.
    private func gathered<F: ElementwiseFunction>(_ input: Tensor, shape: [Int], _ lc: MatrixLayout, _ f: F) -> Tensor {
        let l = layout(in: input)
        precondition(lc.count == l.count && lc.rows == l.rows && lc.cols == l.cols)
        var out = Tensor(shape: shape)
        out.storage.withUnsafeMutableBufferPointer { os in
            input.storage.withUnsafeBufferPointer { xs in
                for i in 0..<l.count {
                    for r in 0..<l.rows {
                        let (src, dst) = (xs.baseAddress! + l.offset(i) + r * l.rowStride, os.baseAddress! + lc.offset(i) + r * lc.rowStride)
                        for j in 0..<l.cols { dst[j] = f(src[j]) }
                    }
                }
            }
        }
        return out
    }
}

/// `x`.
private struct Unchanged: ElementwiseFunction {
    func callAsFunction(_ x: Float) -> Float { x }
}

/// `y = (c q) @ k^T` per matrix (`QKMultiply`; in attention the scale `c`
/// is `head_dim^-0.5`, applied to q first as timm does).
///
/// - `q`: (..., M, D); `k`: (..., N, D); `y`: (..., M, N); or both read from
///   the fused qkv projection (`HeadOperand.fused`, parts 0 and 1), y (B, H, T, T)
/// - VJP: `c (g @ k)` for q, `g^T @ (c q)` for k
/// - absolute twin `|c q| @ |k|^T`, VJP: `|c| (s @ |k|)` for q, `s^T @ |c q|` for k
///
/// so every rule's `x_i * VJP_i` products equal those of the product of the
/// scaled q (the reference's `QKMultiply` input). `c` enters each product as
/// its `alpha`. Traced as `name.0` (q) and `name.1` (k).
public final class QKMultiply: BinaryOperation {
    /// The factor `c` applied to q.
    public let scale: Float
    /// Where q (in the first input) and k (in the second) are.
    public let q: HeadOperand, k: HeadOperand

    public init(name: String, scale: Float = 1, q: HeadOperand = .packed, k: HeadOperand = .packed) {
        self.scale = scale
        self.q = q
        self.k = k
        super.init(name: name)
    }

    override public func apply(_ qInput: Tensor, _ kInput: Tensor) -> Tensor {
        let (lq, lk) = (q.layout(in: qInput), k.layout(in: kInput))
        let shape = q.batchAxes(of: qInput) + [lq.rows, lk.rows]
        return batchedMatrixProduct(qInput, lq, kInput, lk, transposeB: true, alpha: scale, output: shape, .packed(shape))
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let (qInput, kInput) = (record.inputs[0], record.inputs[1])
        let (lq, lk, lg) = (q.layout(in: qInput), k.layout(in: kInput), MatrixLayout.packed(g.shape))
        return [batchedMatrixProduct(g, lg, kInput, lk, alpha: scale, output: qInput.shape, lq),
                batchedMatrixProduct(g, lg, qInput, lq, transposeA: true, alpha: scale, output: kInput.shape, lk)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (qInput, kInput) = (record.inputs[0], record.inputs[1])
        let ((qa, lqa), (ka, lka)) = (q.absolute(of: qInput), k.absolute(of: kInput))
        let ls = MatrixLayout.packed(s.shape)
        return [batchedMatrixProduct(s, ls, ka, lka, alpha: abs(scale), output: qInput.shape, q.layout(in: qInput)),
                batchedMatrixProduct(s, ls, qa, lqa, transposeA: true, alpha: abs(scale), output: kInput.shape, k.layout(in: kInput))]
    }

    /// Each input's contribution in turn, its temporaries (`|k|` or `|q|`
    /// and the twin's product) freed before the next one's.
    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (qInput, kInput) = (record.inputs[0], record.inputs[1])
        let (lq, lk, ls) = (q.layout(in: qInput), k.layout(in: kInput), MatrixLayout.packed(s.shape))
        var dq = batchedMatrixProduct(s, ls, kInput, lk, alpha: scale, output: qInput.shape, lq)
        do {
            let ((ka, lka), (shape, lc)) = (k.absolute(of: kInput), q.compact(of: qInput))
            let aq = batchedMatrixProduct(s, ls, ka, lka, alpha: abs(scale), output: shape, lc)
            fuseContribution(&dq, qInput, lq, absolute: aq, lc)
        }
        var dk = batchedMatrixProduct(s, ls, qInput, lq, transposeA: true, alpha: scale, output: kInput.shape, lk)
        do {
            let ((qa, lqa), (shape, lc)) = (q.absolute(of: qInput), k.compact(of: kInput))
            let ak = batchedMatrixProduct(s, ls, qa, lqa, transposeA: true, alpha: abs(scale), output: shape, lc)
            fuseContribution(&dk, kInput, lk, absolute: ak, lc)
        }
        return [dq, dk]
    }
}

/// `y = a @ v` per matrix (`AttentionVMultiply`: attention weights times values).
///
/// - `a`: (..., M, N); `v`: (..., N, D); `y`: (..., M, D)
/// - VJP: `g @ v^T` for a, `a^T @ g` for v
/// - absolute twin `|a| @ |v|`, VJP: `s @ |v|^T` for a, `|a|^T @ s` for v
///
/// With v read from the fused qkv projection (`HeadOperand.fused`, part 2)
/// the attention `a` is (B, H, M, N) and the output is written straight into
/// the token layout (B, M, H*D) that the attention's projection reads (timm's
/// `x.transpose(1, 2).reshape(B, N, C)`):
///
///     y[b, m, h*D + j] = sum_n a[b, h, m, n] v[b, h, n, j]
///
/// so neither the forward nor the backward pass keeps or builds a second copy
/// of the per-head result; `g` then arrives in that layout too.
///
/// Traced as `name.0` (a) and `name.1` (v).
public final class AttentionVMultiply: BinaryOperation {
    /// Where v is in the second input.
    public let v: HeadOperand

    public init(name: String, v: HeadOperand = .packed) {
        self.v = v
        super.init(name: name)
    }

    /// Shape and layout of the output (and of `g`) for the inputs `a` and `vInput`.
    private func outputLayout(_ a: Tensor, _ vInput: Tensor) -> (shape: [Int], layout: MatrixLayout) {
        let (m, d) = (a.shape[a.rank - 2], v.layout(in: vInput).cols)
        guard case let .fused(heads, _, _) = v else {
            let shape = Array(a.shape.dropLast(2)) + [m, d]
            return (shape, .packed(shape))
        }
        precondition(a.rank == 4 && a.shape[1] == heads, "\(name): merging heads needs (B, \(heads), M, N) attention, got \(a.shape)")
        let b = a.shape[0]
        return ([b, m, heads * d], .heads(batch: b, heads: heads, rows: m, cols: d, parts: 1, part: 0))
    }

    override public func apply(_ a: Tensor, _ vInput: Tensor) -> Tensor {
        let (shape, layout) = outputLayout(a, vInput)
        return batchedMatrixProduct(a, .packed(a.shape), vInput, v.layout(in: vInput), output: shape, layout)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let (a, vInput) = (record.inputs[0], record.inputs[1])
        let (la, lv, lg) = (MatrixLayout.packed(a.shape), v.layout(in: vInput), outputLayout(a, vInput).layout)
        return [batchedMatrixProduct(g, lg, vInput, lv, transposeB: true, output: a.shape, la),
                batchedMatrixProduct(a, la, g, lg, transposeA: true, output: vInput.shape, lv)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (a, vInput) = (record.inputs[0], record.inputs[1])
        let (la, lv, ls) = (MatrixLayout.packed(a.shape), v.layout(in: vInput), outputLayout(a, vInput).layout)
        let (va, lva) = v.absolute(of: vInput)
        return [batchedMatrixProduct(s, ls, va, lva, transposeB: true, output: a.shape, la),
                batchedMatrixProduct(a.absolute, la, s, ls, transposeA: true, output: vInput.shape, lv)]
    }

    /// Each input's contribution in turn, its temporaries (`|v|` or `|a|`
    /// and the twin's product) freed before the next one's.
    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (a, vInput) = (record.inputs[0], record.inputs[1])
        let (la, lv, ls) = (MatrixLayout.packed(a.shape), v.layout(in: vInput), outputLayout(a, vInput).layout)
        var da = batchedMatrixProduct(s, ls, vInput, lv, transposeB: true, output: a.shape, la)
        do {
            let (va, lva) = v.absolute(of: vInput)
            let twinA = batchedMatrixProduct(s, ls, va, lva, transposeB: true, output: a.shape, la)
            fuseContribution(&da, a, la, absolute: twinA, la)
        }
        var dv = batchedMatrixProduct(a, la, s, ls, transposeA: true, output: vInput.shape, lv)
        do {
            let (shape, lc) = v.compact(of: vInput)
            let twinV = batchedMatrixProduct(a.absolute, la, s, ls, transposeA: true, output: shape, lc)
            fuseContribution(&dv, vInput, lv, absolute: twinV, lc)
        }
        return [da, dv]
    }
}

/// The absLRP contribution of one product operand, in place over the
/// operand's matrices (`lx`, the same in `d` and in `x`):
///
///     d[p] = x[p] * d[p] + |x[p]| * a[p']
///
/// with `a` the twin's VJP laid out as `la`; values of `d` outside the
/// operand (the other parts of a fused projection) stay zero.
func fuseContribution(_ d: inout Tensor, _ x: Tensor, _ lx: MatrixLayout, absolute a: Tensor, _ la: MatrixLayout) {
    precondition(d.shape == x.shape && lx.count == la.count && lx.rows == la.rows && lx.cols == la.cols)
    let (rows, cols) = (lx.rows, lx.cols)
    d.storage.withUnsafeMutableBufferPointer { ds in
        x.storage.withUnsafeBufferPointer { xs in
            a.storage.withUnsafeBufferPointer { av in
                let (dp, xp, ap) = (ds.baseAddress!, xs.baseAddress!, av.baseAddress!)
                parallelChunks(lx.count, minimumChunk: max(1, (1 << 15) / max(1, rows * cols))) { range in
                    for i in range {
                        for r in 0..<rows {
                            let (o, oa) = (lx.offset(i) + r * lx.rowStride, la.offset(i) + r * la.rowStride)
                            for j in 0..<cols { dp[o + j] = xp[o + j] * dp[o + j] + abs(xp[o + j]) * ap[oa + j] }
                        }
                    }
                }
            }
        }
    }
}

/// Where the matrices of a batch sit in a tensor's storage: `count` matrices
/// of `rows x cols`, matrix `i` starting at `offset(i)`, rows `rowStride` apart.
struct MatrixLayout {
    var count: Int
    var rows: Int
    var cols: Int
    var rowStride: Int
    var offset: (Int) -> Int

    /// A tensor (..., rows, cols) stored contiguously, one matrix after another.
    static func packed(_ shape: [Int]) -> MatrixLayout {
        precondition(shape.count >= 2, "a batch of matrices needs rank >= 2, got \(shape)")
        let (rows, cols) = (shape[shape.count - 2], shape[shape.count - 1])
        return MatrixLayout(count: shape.dropLast(2).reduce(1, *), rows: rows, cols: cols, rowStride: cols,
                            offset: { $0 * rows * cols })
    }

    /// The (B, H) matrices of `rows x cols` of part `part` inside a
    /// (B, rows, parts*H*cols) tensor laid out as (B, rows, parts, H, cols):
    /// matrix (b, h) holds columns `(part*H + h)*cols ..< (part*H + h + 1)*cols`
    /// of sample b. With one part, the merged-heads token layout (B, rows, H*cols).
    static func heads(batch: Int, heads: Int, rows: Int, cols: Int, parts: Int, part: Int) -> MatrixLayout {
        let width = parts * heads * cols
        return MatrixLayout(count: batch * heads, rows: rows, cols: cols, rowStride: width,
                            offset: { ($0 / heads) * rows * width + (part * heads + $0 % heads) * cols })
    }
}

/// `alpha op(A_i) @ op(B_i)` for every matrix `i` of two batches laid out as
/// `la` and `lb`, written into a new tensor of shape `output` laid out as
/// `lc` (zero outside `lc`); `op(X)` is `X` or `X^T`. One `sgemm` per matrix,
/// the matrices in parts, one per core (`forEachBatchPart`: OpenBLAS
/// single-threaded on each small product, no worker hand-off per matrix).
func batchedMatrixProduct(_ a: Tensor, _ la: MatrixLayout, _ b: Tensor, _ lb: MatrixLayout,
                          transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
                          output: [Int], _ lc: MatrixLayout) -> Tensor {
    let (m, k) = transposeA ? (la.cols, la.rows) : (la.rows, la.cols)
    let (kb, n) = transposeB ? (lb.cols, lb.rows) : (lb.rows, lb.cols)
    precondition(la.count == lb.count && la.count == lc.count,
                 "batched product of \(a.shape) and \(b.shape): \(la.count) vs \(lb.count) matrices")
    precondition(k == kb && lc.rows == m && lc.cols == n,
                 "batched product of \(a.shape)\(transposeA ? "^T" : "") and \(b.shape)\(transposeB ? "^T" : ""): "
                 + "(\(m) x \(k)) (\(kb) x \(n)) into (\(lc.rows) x \(lc.cols))")
    // where the matrices cover the output (the forward's products) nothing is left to zero
    let covered = k > 0 && lc.count * m * n == output.reduce(1, *)
    var y = covered ? Tensor(shape: output, filling: { _ in }) : Tensor(shape: output)
    if k == 0 { return y }
    y.storage.withUnsafeMutableBufferPointer { ys in
        a.storage.withUnsafeBufferPointer { av in
            b.storage.withUnsafeBufferPointer { bv in
                forEachBatchPart(la.count) { matrices in
                    for i in matrices {
                        sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: av.baseAddress! + la.offset(i), lda: la.rowStride,
                              b: bv.baseAddress! + lb.offset(i), ldb: lb.rowStride,
                              c: ys.baseAddress! + lc.offset(i), ldc: lc.rowStride)
                    }
                }
            }
        }
    }
    return y
}

/// `op(A_i) @ op(B_i)` for two packed batches of matrices with the same
/// leading (batch) axes: `a` (..., ra, ca), `b` (..., rb, cb). Result
/// (..., m, n) with `m` and `n` the outer extents of `op(A)` and `op(B)`.
func batchedMatrixProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2 && a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                 "batched product of \(a.shape) and \(b.shape): batch axes differ")
    let la = MatrixLayout.packed(a.shape), lb = MatrixLayout.packed(b.shape)
    let m = transposeA ? la.cols : la.rows, n = transposeB ? lb.rows : lb.cols
    let output = Array(a.shape.dropLast(2)) + [m, n]
    return batchedMatrixProduct(a, la, b, lb, transposeA: transposeA, transposeB: transposeB, output: output, .packed(output))
}

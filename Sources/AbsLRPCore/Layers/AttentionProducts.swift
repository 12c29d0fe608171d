/// The two matrix products of self-attention, as two-input operations (the
/// reference's `QKMultiply` and `AttentionVMultiply`). Both act on batches of
/// matrices: every axis but the last two is a batch axis (for attention
/// (B, heads)), and each product is one `sgemm` per matrix of the batch.

/// `y = (c q) @ k^T` per matrix (`QKMultiply`; in attention the scale `c`
/// is `head_dim^-0.5`, applied to q first as timm does).
///
/// - `q`: (..., M, D); `k`: (..., N, D); `y`: (..., M, N)
/// - VJP: `c (g @ k)` for q, `g^T @ (c q)` for k
/// - absolute twin `|c q| @ |k|^T`, VJP: `|c| (s @ |k|)` for q, `s^T @ |c q|` for k
///
/// so every rule's `x_i * VJP_i` products equal those of the product of the
/// scaled q (the reference's `QKMultiply` input). Traced as `name.0` (q) and `name.1` (k).
public final class QKMultiply: BinaryOperation {
    /// The factor `c` applied to q.
    public let scale: Float

    public init(name: String, scale: Float = 1) {
        self.scale = scale
        super.init(name: name)
    }

    override public func apply(_ q: Tensor, _ k: Tensor) -> Tensor {
        batchedMatrixProduct(scale == 1 ? q : q * scale, k, transposeB: true)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let (q, k) = (record.inputs[0], record.inputs[1])
        let gq = batchedMatrixProduct(g, k)
        return [scale == 1 ? gq : gq * scale, batchedMatrixProduct(g, scale == 1 ? q : q * scale, transposeA: true)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (q, k) = (record.inputs[0], record.inputs[1].absolute)
        let sq = batchedMatrixProduct(s, k)
        return [scale == 1 ? sq : sq * abs(scale), batchedMatrixProduct(s, (scale == 1 ? q : q * scale).absolute, transposeA: true)]
    }
}

/// `y = a @ v` per matrix (`AttentionVMultiply`: attention weights times values).
///
/// - `a`: (..., M, N); `v`: (..., N, D); `y`: (..., M, D)
/// - VJP: `g @ v^T` for a, `a^T @ g` for v
/// - absolute twin `|a| @ |v|`, VJP: `s @ |v|^T` for a, `|a|^T @ s` for v
///
/// With `mergesHeads` the inputs are (B, H, M, N) and (B, H, N, D) and the
/// output is written straight into the token layout (B, M, H*D) that the
/// attention's projection reads (timm's `x.transpose(1, 2).reshape(B, N, C)`):
///
///     y[b, m, h*D + j] = sum_n a[b, h, m, n] v[b, h, n, j]
///
/// so neither the forward nor the backward pass keeps or builds a second copy
/// of the per-head result; `g` then arrives in that layout too.
///
/// Traced as `name.0` (a) and `name.1` (v).
public final class AttentionVMultiply: BinaryOperation {
    public let mergesHeads: Bool

    public init(name: String, mergesHeads: Bool = false) {
        self.mergesHeads = mergesHeads
        super.init(name: name)
    }

    /// Layout of the output (and of `g`) for inputs `a` (..., M, N), `v` (..., N, D).
    private func outputLayout(_ a: Tensor, _ v: Tensor) -> (shape: [Int], layout: MatrixLayout) {
        let (m, d) = (a.shape[a.rank - 2], v.shape[v.rank - 1])
        guard mergesHeads else {
            let shape = Array(a.shape.dropLast(2)) + [m, d]
            return (shape, .packed(shape))
        }
        precondition(a.rank == 4, "\(name): merging heads needs (B, H, M, N) attention, got \(a.shape)")
        let (b, h) = (a.shape[0], a.shape[1])
        return ([b, m, h * d], .mergedHeads(batch: b, heads: h, rows: m, cols: d))
    }

    override public func apply(_ a: Tensor, _ v: Tensor) -> Tensor {
        let (shape, layout) = outputLayout(a, v)
        return batchedMatrixProduct(a, .packed(a.shape), v, .packed(v.shape), output: shape, layout)
    }

    private func products(_ g: Tensor, _ a: Tensor, _ v: Tensor) -> [Tensor] {
        let (_, layout) = outputLayout(a, v)
        return [batchedMatrixProduct(g, layout, v, .packed(v.shape), transposeB: true, output: a.shape, .packed(a.shape)),
                batchedMatrixProduct(a, .packed(a.shape), g, layout, transposeA: true, output: v.shape, .packed(v.shape))]
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        products(g, record.inputs[0], record.inputs[1])
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (a, v) = (record.inputs[0], record.inputs[1])
        let (_, layout) = outputLayout(a, v)
        return [batchedMatrixProduct(s, layout, v.absolute, .packed(v.shape), transposeB: true, output: a.shape, .packed(a.shape)),
                batchedMatrixProduct(a.absolute, .packed(a.shape), s, layout, transposeA: true, output: v.shape, .packed(v.shape))]
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

    /// The (B, H) matrices of `rows x cols` inside a (B, rows, H*cols) tensor:
    /// matrix (b, h) holds columns `h*cols ..< (h+1)*cols` of sample b.
    static func mergedHeads(batch: Int, heads: Int, rows: Int, cols: Int) -> MatrixLayout {
        MatrixLayout(count: batch * heads, rows: rows, cols: cols, rowStride: heads * cols,
                     offset: { ($0 / heads) * rows * heads * cols + ($0 % heads) * cols })
    }
}

/// `op(A_i) @ op(B_i)` for every matrix `i` of two batches laid out as `la`
/// and `lb`, written into a new tensor of shape `output` laid out as `lc`;
/// `op(X)` is `X` or `X^T`. One `sgemm` per matrix.
func batchedMatrixProduct(_ a: Tensor, _ la: MatrixLayout, _ b: Tensor, _ lb: MatrixLayout,
                          transposeA: Bool = false, transposeB: Bool = false,
                          output: [Int], _ lc: MatrixLayout) -> Tensor {
    let (m, k) = transposeA ? (la.cols, la.rows) : (la.rows, la.cols)
    let (kb, n) = transposeB ? (lb.cols, lb.rows) : (lb.rows, lb.cols)
    precondition(la.count == lb.count && la.count == lc.count,
                 "batched product of \(a.shape) and \(b.shape): \(la.count) vs \(lb.count) matrices")
    precondition(k == kb && lc.rows == m && lc.cols == n,
                 "batched product of \(a.shape)\(transposeA ? "^T" : "") and \(b.shape)\(transposeB ? "^T" : ""): "
                 + "(\(m) x \(k)) (\(kb) x \(n)) into (\(lc.rows) x \(lc.cols))")
    var y = Tensor(shape: output)
    if k == 0 { return y }
    y.storage.withUnsafeMutableBufferPointer { ys in
        a.storage.withUnsafeBufferPointer { av in
            b.storage.withUnsafeBufferPointer { bv in
                for i in 0..<la.count {
                    sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                          a: av.baseAddress! + la.offset(i), lda: la.rowStride,
                          b: bv.baseAddress! + lb.offset(i), ldb: lb.rowStride,
                          c: ys.baseAddress! + lc.offset(i), ldc: lc.rowStride)
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

/// The two matrix products of self-attention, as two-input operations (the
/// reference's `QKMultiply` and `AttentionVMultiply`). Both act on batches of
/// matrices: every axis but the last two is a batch axis (for attention
/// (B, heads)), and each product is one `sgemm` per matrix of the batch.

/// `y = q @ k^T` per matrix (`QKMultiply`; in attention `q` is already scaled
/// by `head_dim^-0.5`).
///
/// - `q`: (..., M, D); `k`: (..., N, D); `y`: (..., M, N)
/// - VJP: `g @ k` for q, `g^T @ q` for k
/// - absolute twin `|q| @ |k|^T`, VJP: `s @ |k|` for q, `s^T @ |q|` for k
///
/// Traced as `name.0` (q) and `name.1` (k).
public final class QKMultiply: BinaryOperation {
    override public func apply(_ q: Tensor, _ k: Tensor) -> Tensor {
        batchedMatrixProduct(q, k, transposeB: true)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let (q, k) = (record.inputs[0], record.inputs[1])
        return [batchedMatrixProduct(g, k), batchedMatrixProduct(g, q, transposeA: true)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (q, k) = (record.inputs[0].absolute, record.inputs[1].absolute)
        return [batchedMatrixProduct(s, k), batchedMatrixProduct(s, q, transposeA: true)]
    }
}

/// `y = a @ v` per matrix (`AttentionVMultiply`: attention weights times values).
///
/// - `a`: (..., M, N); `v`: (..., N, D); `y`: (..., M, D)
/// - VJP: `g @ v^T` for a, `a^T @ g` for v
/// - absolute twin `|a| @ |v|`, VJP: `s @ |v|^T` for a, `|a|^T @ s` for v
///
/// Traced as `name.0` (a) and `name.1` (v).
public final class AttentionVMultiply: BinaryOperation {
    override public func apply(_ a: Tensor, _ v: Tensor) -> Tensor {
        batchedMatrixProduct(a, v)
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let (a, v) = (record.inputs[0], record.inputs[1])
        return [batchedMatrixProduct(g, v, transposeB: true), batchedMatrixProduct(a, g, transposeA: true)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let (a, v) = (record.inputs[0].absolute, record.inputs[1].absolute)
        return [batchedMatrixProduct(s, v, transposeB: true), batchedMatrixProduct(a, s, transposeA: true)]
    }
}

/// `op(A_i) @ op(B_i)` for every matrix `i` of two batches of matrices with
/// the same leading (batch) axes: `a` (..., ra, ca), `b` (..., rb, cb), where
/// `op(X)` is `X` or `X^T`. Result (..., m, n) with `m` and `n` the outer
/// extents of `op(A)` and `op(B)`; one `sgemm` per matrix.
func batchedMatrixProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2 && a.rank == b.rank && a.shape.dropLast(2) == b.shape.dropLast(2),
                 "batched product of \(a.shape) and \(b.shape): batch axes differ")
    let (ra, ca) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (rb, cb) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ca, ra) : (ra, ca)
    let (kb, n) = transposeB ? (cb, rb) : (rb, cb)
    precondition(k == kb, "batched product of \(a.shape)\(transposeA ? "^T" : "") and \(b.shape)\(transposeB ? "^T" : ""): inner extents \(k) != \(kb)")
    let leading = Array(a.shape.dropLast(2))
    let count = leading.reduce(1, *)
    var y = Tensor(shape: leading + [m, n])
    if k == 0 { return y }
    y.storage.withUnsafeMutableBufferPointer { ys in
        a.storage.withUnsafeBufferPointer { av in
            b.storage.withUnsafeBufferPointer { bv in
                for i in 0..<count {
                    sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                          a: av.baseAddress! + i * ra * ca, b: bv.baseAddress! + i * rb * cb,
                          c: ys.baseAddress! + i * m * n)
                }
            }
        }
    }
    return y
}

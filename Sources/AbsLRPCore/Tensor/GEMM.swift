import CBLAS

/// The one boundary to BLAS: single-precision general matrix multiply on
/// row-major matrices,
///
///     C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C
///
/// where `op(X)` is `X` or `X^T`. `lda`, `ldb`, `ldc` are the row strides of
/// the matrices as stored (defaults: tightly packed). This wrapper owns the
/// Int32 conversions and the row-major convention; nothing else imports CBLAS.
@inline(__always)
public func sgemm(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int? = nil
) {
    if m == 0 || n == 0 { return }
    let lda = lda ?? (transposeA ? m : k)
    let ldb = ldb ?? (transposeB ? k : n)
    let ldc = ldc ?? n
    precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max), "matrix too large for 32-bit BLAS")
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb),
        beta, c, Int32(ldc))
}

/// Number of threads OpenBLAS uses for one GEMM.
public var blasThreadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
}

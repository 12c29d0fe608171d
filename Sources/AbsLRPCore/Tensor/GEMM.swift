import CBLAS
import Foundation

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
    _ = BLASKernel.selected
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

/// OpenBLAS's kernel choice. A DYNAMIC_ARCH OpenBLAS picks its kernels from
/// the CPU model number; on virtual machines that hide it (here: "Intel(R)
/// Xeon(R) Processor") it falls back to the SSE3 `Prescott` kernels, three
/// times slower than the CPU can go. When that happens and the user has not
/// chosen (`OPENBLAS_CORETYPE` unset), the kernels are re-selected from the
/// instruction sets the CPU reports (`/proc/cpuinfo` flags): SkylakeX for
/// AVX-512 (F, BW, DQ, VL), Haswell for AVX2 with FMA. Done once, before the
/// first product.
///
/// The same step shortens how long OpenBLAS's worker threads spin (calling
/// `sched_yield`) after a product before they sleep: by default about 2^28
/// cycles, during which they compete for the cores with the elementwise
/// passes that run between products (a quarter of all samples in `perf`,
/// about 10% of the absLRP time of ResNet-50). Unless the user set
/// `OPENBLAS_THREAD_TIMEOUT`, it becomes OpenBLAS's minimum, 2^4 cycles.
public enum BLASKernel {
    /// The kernel family in use after selection (OpenBLAS's core name).
    public static let selected: String = {
        shortenThreadTimeout()
        return select()
    }()

    private static func shortenThreadTimeout() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil,
              let readEnvironment = symbol("openblas_read_env"),
              let stopThreads = symbol("blas_thread_shutdown_") else { return }
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
        readEnvironment()
        stopThreads()  // restarted by the next threaded product, with the new timeout
        unsetenv("OPENBLAS_THREAD_TIMEOUT")
    }

    private static func corename() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    private static func select() -> String {
        let detected = corename()
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              ["Prescott", "Core2", "Nehalem", "Sandybridge"].contains(detected),
              let flags = cpuFlags(),
              let better = flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) ? "SkylakeX"
                : (flags.isSuperset(of: ["avx2", "fma"]) ? "Haswell" : nil),
              let quit = symbol("gotoblas_dynamic_quit"), let initialize = symbol("gotoblas_dynamic_init") else {
            return detected
        }
        setenv("OPENBLAS_CORETYPE", better, 1)
        quit()
        initialize()
        unsetenv("OPENBLAS_CORETYPE")
        return corename()
    }

    private static func cpuFlags() -> Set<String>? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        return Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
    }

    private typealias Procedure = @convention(c) () -> Void

    /// An OpenBLAS entry point that is not in its public header.
    private static func symbol(_ name: String) -> Procedure? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: Procedure.self)
    }
}

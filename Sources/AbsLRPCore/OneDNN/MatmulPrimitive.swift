import CDNNL
import Foundation

/// One oneDNN matrix product on fixed shapes, the forward of a `Linear`:
///
///     y[m x n] = x[m x k] · W^T + b        W (n x k), b (n), all row-major
///
/// run on the caller's buffers as they are (no reorder, no copy of the
/// weights: oneDNN's `brg:avx512_core` matmul packs its blocks of `W` as it
/// goes, as OpenBLAS does), the bias added inside the product, on the
/// calling thread alone (one OpenMP thread: callers run it where
/// `DNNLEngine.threadsForCaller` is 1, in `forEachBatchPart` bodies; oneDNN
/// fits a matmul's blocking to the threads it is made for). Made once per
/// shape (`cached`), so every call of one shape gives the same values. Its scratchpad (oneDNN's buffers for the
/// packed blocks) is the caller's, one per call (`dnnl_scratchpad_mode_user`):
/// oneDNN's own scratchpad is shared between primitives and threads, and
/// two threads running primitives at once (the concurrent passes and
/// masking orders) corrupted each other's products.
final class MatmulPrimitive: @unchecked Sendable {
    /// What a primitive is made for.
    struct Shape: Hashable {
        var rows, inFeatures, outFeatures: Int
        var hasBias: Bool
    }

    let shape: Shape
    /// oneDNN's name for the implementation it chose (`brg:avx512_core`, `gemm:jit`, ...).
    let implementation: String
    private let primitive: dnnl_primitive_t
    private let source, weights, bias, destination, scratchpad: dnnl_memory_desc_t

    /// The primitive for `shape`, nil where oneDNN offers only its reference loops.
    init?(_ shape: Shape) {
        self.shape = shape
        let (m, k, n) = (shape.rows, shape.inFeatures, shape.outFeatures)
        // W (n x k) row-major is the k x n matrix of the product read column by column (`ba`).
        source = DNNLMemory.descriptor([m, k], dnnl_ab)
        weights = DNNLMemory.descriptor([k, n], dnnl_ba)
        bias = DNNLMemory.descriptor([1, n], dnnl_ab)
        destination = DNNLMemory.descriptor([m, n], dnnl_ab)
        var description = dnnl_matmul_desc_t()
        var (s, w, b, d) = (source, weights, bias, destination)
        let described = withUnsafePointer(to: &b) { b in
            dnnl_matmul_desc_init(&description, &s, &w, shape.hasBias ? b : nil, &d)
        }
        var attributes: dnnl_primitive_attr_t?
        DNNLEngine.check(dnnl_primitive_attr_create(&attributes), "creating attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        DNNLEngine.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "setting the scratchpad mode")
        omp_set_num_threads(1)
        var pd: dnnl_primitive_desc_t?
        guard described == dnnl_success,
              dnnl_primitive_desc_create(&pd, &description, attributes, DNNLEngine.engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        scratchpad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee
        var name: UnsafePointer<CChar>?
        DNNLEngine.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name), "naming an implementation")
        implementation = String(cString: name!)
        guard !implementation.hasPrefix("ref") else { return nil }
        var p: dnnl_primitive_t?
        DNNLEngine.check(dnnl_primitive_create(&p, pd), "creating a matmul")
        primitive = p!
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// `y = x · W^T (+ b)`, called where `DNNLEngine.threadsForCaller` is 1.
    func run(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
             into y: UnsafeMutablePointer<Float>) {
        var memories: [dnnl_memory_t] = []
        defer { memories.forEach { dnnl_memory_destroy($0) } }
        func memory(_ md: dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) -> dnnl_memory_t {
            var md = md
            var made: dnnl_memory_t?
            DNNLEngine.check(dnnl_memory_create(&made, &md, DNNLEngine.engine, UnsafeMutableRawPointer(mutating: pointer)),
                             "creating a memory object")
            memories.append(made!)
            return made!
        }
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: memory(source, x)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: memory(weights, weight)),
                         dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: memory(destination, y))]
        if shape.hasBias, let b { arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: memory(bias, b))) }
        var md = scratchpad
        let bytes = dnnl_memory_desc_get_size(&md)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes), alignment: 64)
        defer { buffer.deallocate() }
        if bytes > 0 { arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory(scratchpad, buffer))) }
        precondition(DNNLEngine.threadsForCaller == 1, "a oneDNN matmul made for one thread called with \(DNNLEngine.threadsForCaller)")
        DNNLEngine.execute(primitive, arguments)
    }

    private static let primitives = PrimitiveCache<Shape, MatmulPrimitive> { MatmulPrimitive($0) }

    /// The primitive for `shape`, made on first use (nil, remembered, where oneDNN refuses it).
    static func cached(_ shape: Shape) -> MatmulPrimitive? { primitives.primitive(for: shape) }
}

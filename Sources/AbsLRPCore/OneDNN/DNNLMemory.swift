import CDNNL

/// oneDNN memory descriptors and reorders over the package's float buffers.
///
/// A descriptor (`dnnl_memory_desc_t`) says how a tensor's values are laid
/// out: `plain` is PyTorch's (NCHW activations, OIHW / GOIHW weights), `any`
/// lets a primitive choose its own (blocked: `nChw16c`, `OIhw16i16o`, ...).
/// Memory objects are made per call around the caller's pointers (no
/// object is shared between threads).
enum DNNLMemory {
    /// `dims` as oneDNN's dimensions (`dnnl_dim_t`, int64).
    static func dimensions(_ dims: [Int]) -> [dnnl_dim_t] { dims.map { dnnl_dim_t($0) } }

    /// A float32 descriptor of `dims` in the layout `tag`.
    static func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        DNNLEngine.check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dimensions(dims), dnnl_f32, tag), "describing \(dims)")
        return md
    }

    /// PyTorch's contiguous layout of a tensor of rank 1, 4 or 5 (bias; NCHW or OIHW; GOIHW).
    static func plain(_ dims: [Int]) -> dnnl_memory_desc_t {
        switch dims.count {
        case 1: return descriptor(dims, dnnl_a)
        case 4: return descriptor(dims, dnnl_abcd)
        default: return descriptor(dims, dnnl_abcde)
        }
    }

    /// Floats a buffer in the layout `md` holds (padding included).
    static func floats(_ md: dnnl_memory_desc_t) -> Int {
        var md = md
        return dnnl_memory_desc_get_size(&md) / MemoryLayout<Float>.size
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// `b` where `md` is the NCHW tensor `dims` in the channel-blocked
    /// layout `nChw<b>c` (b = 16 or 8, channels zero-padded to a multiple
    /// of `b`), nil otherwise.
    static func channelBlock(of md: dnnl_memory_desc_t, _ dims: [Int]) -> Int? {
        guard dims.count == 4 else { return nil }
        if equal(md, descriptor(dims, dnnl_nChw16c)) { return 16 }
        if equal(md, descriptor(dims, dnnl_nChw8c)) { return 8 }
        return nil
    }

    /// `body(memory)` with a memory object of layout `md` over `pointer`.
    static func withMemory<T>(_ md: dnnl_memory_desc_t, _ pointer: UnsafeRawPointer, _ body: (dnnl_memory_t) -> T) -> T {
        var md = md
        var memory: dnnl_memory_t?
        DNNLEngine.check(dnnl_memory_create(&memory, &md, DNNLEngine.engine, UnsafeMutableRawPointer(mutating: pointer)),
                         "creating a memory object")
        defer { dnnl_memory_destroy(memory) }
        return body(memory!)
    }

    /// A reorder primitive from one layout of a tensor to another.
    final class Reorder: @unchecked Sendable {
        let source, destination: dnnl_memory_desc_t
        private let primitive: dnnl_primitive_t
        private let scratchpadFloats: Int

        init(from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) {
            self.source = source; self.destination = destination
            var pd: dnnl_primitive_desc_t?
            var s = source, d = destination
            let attributes = DNNLEngine.userScratchpad()
            defer { dnnl_primitive_attr_destroy(attributes) }
            DNNLEngine.check(dnnl_reorder_primitive_desc_create(&pd, &s, DNNLEngine.engine, &d, DNNLEngine.engine, attributes),
                             "creating a reorder")
            defer { dnnl_primitive_desc_destroy(pd) }
            scratchpadFloats = floats(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee)
            var p: dnnl_primitive_t?
            DNNLEngine.check(dnnl_primitive_create(&p, pd), "creating a reorder")
            primitive = p!
        }

        deinit { dnnl_primitive_destroy(primitive) }

        /// Copies the values at `from` (layout `source`) to `to` (layout `destination`).
        func run(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>) {
            withMemory(source, from) { a in
                withMemory(destination, to) { b in
                    DNNLEngine.execute(primitive, [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: a),
                                                   dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: b)],
                                       scratchpadFloats: scratchpadFloats)
                }
            }
        }
    }
}

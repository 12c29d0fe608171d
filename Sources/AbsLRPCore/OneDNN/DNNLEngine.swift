import CDNNL
import Foundation

/// The one CPU engine of oneDNN (Debian's `libdnnl`, target `CDNNL`) and the
/// rules for calling it: every oneDNN primitive of the package runs through
/// `execute`.
///
/// - `engine`: created once, shared by every primitive (oneDNN primitives may
///   run on several threads at once).
/// - `withStream`: a stream of the calling thread (oneDNN streams are not
///   meant to be shared between threads), created on first use.
/// - threads: oneDNN runs its primitives on OpenMP (libgomp), whose thread
///   count is a setting of the calling thread. `execute` sets it before each
///   primitive: one thread inside `concurrently`/`forEachBatchPart` bodies
///   (each of those already has a core, as OpenBLAS is single-threaded
///   there), else `parallelWidth`.
public enum DNNLEngine {
    /// The CPU engine.
    static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "creating the CPU engine")
        return engine!
    }()

    /// OpenMP threads a oneDNN primitive called from this thread should use.
    static var threadsForCaller: Int { ConcurrentWork.isInside ? 1 : parallelWidth }

    /// Attributes that make a primitive take its working memory (scratchpad)
    /// from each call (`execute`) instead of a buffer the library shares
    /// between primitives, so that calls on several threads never share one.
    static func userScratchpad() -> dnnl_primitive_attr_t {
        var attributes: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attributes), "creating attributes")
        check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "setting the scratchpad mode")
        return attributes!
    }

    /// Runs `primitive` with `arguments` and a scratchpad of
    /// `scratchpadFloats` allocated for this call (0: none, or one the
    /// arguments already hold) on this thread's stream, on
    /// `threadsForCaller` OpenMP threads, and waits for it.
    static func execute(_ primitive: dnnl_primitive_t, _ arguments: [dnnl_exec_arg_t], scratchpadFloats: Int = 0) {
        omp_set_num_threads(Int32(threadsForCaller))
        let stream = ThreadStream.current.stream
        let scratchpad = Scratch(count: scratchpadFloats)
        defer { scratchpad.free() }
        let layout = DNNLMemory.descriptor([max(1, scratchpadFloats)], dnnl_a)
        DNNLMemory.withMemory(layout, scratchpad.base) { memory in
            let all = scratchpadFloats > 0 ? arguments + [dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory)] : arguments
            all.withUnsafeBufferPointer { args in
                check(dnnl_primitive_execute(primitive, stream, Int32(args.count), args.baseAddress), "executing a primitive")
            }
        }
        check(dnnl_stream_wait(stream), "waiting for a stream")
    }

    /// Stops with `what` when oneDNN reports a failure. oneDNN fails here only
    /// on the library's own invariants (a descriptor it accepted, memory it
    /// allocated), never on user input, which is validated before any call.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN: \(what()) failed (status \(status.rawValue))")
    }

    /// oneDNN's version, `major.minor.patch`.
    public static var version: String {
        let v = dnnl_version()!.pointee
        return "\(v.major).\(v.minor).\(v.patch)"
    }

    /// The stream of one thread, destroyed with the thread's dictionary.
    private final class ThreadStream {
        let stream: dnnl_stream_t

        init() {
            var stream: dnnl_stream_t?
            check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "creating a stream")
            self.stream = stream!
        }

        deinit { dnnl_stream_destroy(stream) }

        static var current: ThreadStream {
            let key = "AbsLRPCore.DNNLEngine.stream"
            if let stream = Thread.current.threadDictionary[key] as? ThreadStream { return stream }
            let stream = ThreadStream()
            Thread.current.threadDictionary[key] = stream
            return stream
        }
    }
}

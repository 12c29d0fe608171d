import Dispatch
import Foundation

/// Splits `0..<count` into contiguous chunks and runs `body` on them in
/// parallel (one chunk per core), or inline when the work is too small to be
/// worth the hand-off, or when called inside one of `concurrently`'s bodies
/// (which already have a core each). Chunks are disjoint, so bodies may
/// write their own ranges of a shared buffer.
///
/// OpenBLAS parallelises the GEMMs; this covers the passes between them
/// (im2col, col2im, the elementwise parts of the relevance rules).
@inline(__always)
public func parallelChunks(_ count: Int, minimumChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let chunks = ConcurrentWork.isInside ? 1 : min(parallelWidth, count / max(1, minimumChunk))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}

/// Runs `first` and `second` at the same time, one core each, and returns
/// both results. Inside them every GEMM runs on its calling thread (OpenBLAS
/// single-threaded) and `parallelChunks` runs inline, so the two bodies
/// split the machine between them instead of each splitting every product
/// and every elementwise pass: no hand-offs, and no OpenBLAS workers
/// yielding between products. With one core (`parallelWidth` 1), or when
/// already inside a `concurrently` body, they run one after the other.
///
/// The bodies may share anything they only read (a `Tape`, the weights).
public func concurrently<A, B>(_ first: () -> A, _ second: () -> B) -> (A, B) {
    if parallelWidth < 2 || ConcurrentWork.isInside { return (first(), second()) }
    let threads = blasThreadCount
    blasThreadCount = 1
    defer { blasThreadCount = threads }
    let results = ConcurrentWork.Results<A, B>()
    DispatchQueue.concurrentPerform(iterations: 2) { i in
        ConcurrentWork.$isInside.withValue(true) {
            if i == 0 { results.first = first() } else { results.second = second() }
        }
    }
    return (results.first!, results.second!)
}

/// Runs `body` on the batch `0..<count` cut into `parallelWidth` contiguous
/// parts (fewer for a smaller batch), one part per core at the same time,
/// with OpenBLAS single-threaded inside and `parallelChunks` inline, as in
/// `concurrently`: a layer's products of the batch's images then need no
/// hand-off inside a product and no OpenBLAS worker yielding between products.
/// The parts depend only on `count` and `parallelWidth`, never on where this
/// is called: inside a `concurrently` body they run one after the other on
/// the calling thread, so a layer computes the same values in every pass
/// (the inference forward's logits equal the recorded forward's). With one
/// part (batch 1) `body(0..<count)` runs on the calling thread as usual,
/// OpenBLAS threaded.
public func forEachBatchPart(_ count: Int, _ body: (Range<Int>) -> Void) {
    let parts = min(parallelWidth, count)
    guard parts > 1 else { return body(0..<count) }
    let ranges = (0..<parts).map { ($0 * count / parts)..<(($0 + 1) * count / parts) }
    if ConcurrentWork.isInside { return ranges.forEach(body) }
    let threads = blasThreadCount
    blasThreadCount = 1
    defer { blasThreadCount = threads }
    DispatchQueue.concurrentPerform(iterations: parts) { i in
        ConcurrentWork.$isInside.withValue(true) { body(ranges[i]) }
    }
}

enum ConcurrentWork {
    /// Whether the current thread runs one of `concurrently`'s bodies.
    @TaskLocal static var isInside = false

    /// The two results, each written by one thread.
    final class Results<A, B>: @unchecked Sendable {
        var first: A?
        var second: B?
    }
}

/// Threads used by `parallelChunks`: `$ABSLRP_THREADS`, else every core.
public let parallelWidth = max(1, ProcessInfo.processInfo.environment["ABSLRP_THREADS"].flatMap { Int($0) }
                                  ?? System.coreCount)

enum System {
    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}

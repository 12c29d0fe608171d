import Dispatch
import Foundation

/// Splits `0..<count` into contiguous chunks and runs `body` on them in
/// parallel (one chunk per core), or inline when the work is too small to be
/// worth the hand-off. Chunks are disjoint, so bodies may write their own
/// ranges of a shared buffer.
///
/// OpenBLAS parallelises the GEMMs; this covers the passes between them
/// (im2col, col2im, the elementwise parts of the relevance rules).
@inline(__always)
public func parallelChunks(_ count: Int, minimumChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let chunks = min(parallelWidth, count / max(1, minimumChunk))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((c * count / chunks)..<((c + 1) * count / chunks))
    }
}

/// Threads used by `parallelChunks`: `$ABSLRP_THREADS`, else every core.
public let parallelWidth = max(1, ProcessInfo.processInfo.environment["ABSLRP_THREADS"].flatMap { Int($0) }
                                  ?? System.coreCount)

enum System {
    static var coreCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}

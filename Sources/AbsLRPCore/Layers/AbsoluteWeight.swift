/// `|W|` of a weight matrix `[rows, cols]` (rows = output features or
/// channels), for the absolute twin's backward products `|W|^T s`.
///
/// Matrices of at most `cacheLimit` values (1M, 4 MB) keep `|W|` in memory,
/// built once per weight change, so the small models that GAE runs in loops
/// never recompute it. Larger ones (ResNet-50's 3x3x512x512 convolutions,
/// ViT-B's MLPs, VGG's 25088x4096 classifier) are made absolute block by
/// block inside each product: one pass over the weights per product, a few
/// percent of its GEMM time, instead of a second copy of the model in memory.
struct AbsoluteWeight {
    static let cacheLimit = 1 << 20
    /// Rows per block for uncached matrices.
    static let blockValues = 1 << 20
    private var cached: [Float]?

    mutating func invalidate() { cached = nil }

    /// Calls `body(rowRange, |W|[rowRange, :], isFirstBlock)` for blocks of
    /// rows covering all of `weight`, so callers accumulate (`beta = isFirst ? 0 : 1`).
    mutating func forEachBlock(of weight: Tensor, rows: Int,
                               _ body: (Range<Int>, UnsafePointer<Float>, Bool) -> Void) {
        let cols = weight.count / rows
        if weight.count <= Self.cacheLimit {
            if cached == nil { cached = weight.storage.map { abs($0) } }
            cached!.withUnsafeBufferPointer { body(0..<rows, $0.baseAddress!, true) }
            return
        }
        let blockRows = max(1, Self.blockValues / max(1, cols))
        var block = [Float](repeating: 0, count: blockRows * cols)
        weight.storage.withUnsafeBufferPointer { w in
            block.withUnsafeMutableBufferPointer { b in
                for first in Swift.stride(from: 0, to: rows, by: blockRows) {
                    let n = min(blockRows, rows - first)
                    for i in 0..<(n * cols) { b[i] = abs(w[first * cols + i]) }
                    body(first..<(first + n), UnsafePointer(b.baseAddress!), first == 0)
                }
            }
        }
    }
}

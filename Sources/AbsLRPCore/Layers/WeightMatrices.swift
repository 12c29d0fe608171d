import Foundation

/// The matrices an affine layer's backward products multiply with, each an
/// elementwise function of the weight `W` `[rows, cols]` (rows = output
/// features or channels).
enum WeightMatrix: Hashable {
    /// `W`: the true and detached VJP.
    case weight
    /// `|W|`: the absolute twin's VJP.
    case absolute
    /// `W + |W| = 2 max(W, 0)`: both absLRP products at once when the layer's
    /// input is nonnegative, since then `x (W^T s) + |x| (|W|^T s) = x ((W + |W|)^T s)`.
    case rectifiedSum
    /// `W^+ = max(W, 0)` (z+, alpha-beta, z-box).
    case positive
    /// `W^- = min(W, 0)` (z+, alpha-beta, z-box).
    case negative
    /// `W^2` (w-square).
    case squared
    /// All ones (flat).
    case ones
    /// `W + gamma W^+` (gamma).
    case gammaPositive(Float)
    /// `W + gamma W^-` (gamma).
    case gammaNegative(Float)

    @inline(__always)
    func transform(_ w: Float) -> Float {
        switch self {
        case .weight: return w
        case .absolute: return abs(w)
        case .rectifiedSum: return w + abs(w)
        case .positive: return max(w, 0)
        case .negative: return min(w, 0)
        case .squared: return w * w
        case .ones: return 1
        case .gammaPositive(let gamma): return w + gamma * max(w, 0)
        case .gammaNegative(let gamma): return w + gamma * min(w, 0)
        }
    }

    /// `out[i] = transform(source[i])` for `i < count` (`source` may be
    /// `out`): the case is chosen once, outside the loop, so that each loop
    /// is vectorised (a switch per value made deriving the large matrices of
    /// ResNet-50's late layers 3% of its absLRP time).
    func transform(_ source: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .weight: if UnsafePointer(out) != source { out.update(from: source, count: count) }
        case .absolute: for i in 0..<count { out[i] = abs(source[i]) }
        case .rectifiedSum: for i in 0..<count { out[i] = source[i] + abs(source[i]) }
        case .positive: for i in 0..<count { out[i] = max(source[i], 0) }
        case .negative: for i in 0..<count { out[i] = min(source[i], 0) }
        case .squared: for i in 0..<count { out[i] = source[i] * source[i] }
        case .ones: out.update(repeating: 1, count: count)
        case .gammaPositive(let gamma): for i in 0..<count { out[i] = source[i] + gamma * max(source[i], 0) }
        case .gammaNegative(let gamma): for i in 0..<count { out[i] = source[i] + gamma * min(source[i], 0) }
        }
    }
}

/// The derived matrices (`|W|`, `W + |W|`, ...) of one weight, for the products of the rules.
///
/// Weights of at most `cacheLimit` values (256K, 1 MB) keep each derived
/// matrix in memory, built once per weight change, so the small models that
/// GAE runs in loops never recompute them. Larger ones (most of ResNet-50's
/// layer3 and layer4, ViT-B's linear layers, VGG's classifier) are derived
/// block by block inside each product: one pass over the weights per
/// product, about 1% of its GEMM time, instead of another copy of the
/// model in memory (100 MB for ResNet-50).
///
/// A layer may also multiply with its matrices' values in another order
/// (`withRearranged`: Conv2d's flipped, channel-transposed kernel; `withPrepared`:
/// a oneDNN primitive's weights layout), kept in the same way under its own key.
///
/// Products may run on several threads at once (the two relevance passes run
/// concurrently, see `concurrently`), so the cache is filled under a lock
/// (recursive: a prepared layout is made from the cached derived matrix).
final class WeightMatrices: @unchecked Sendable {
    static let cacheLimit = 1 << 18
    /// Values per block for uncached matrices (16 MB: every ViT-B and
    /// ResNet-50 matrix in one block, so its product is one GEMM).
    static let blockValues = 1 << 22
    private struct Key: Hashable {
        let matrix: WeightMatrix
        /// nil: `W`'s own order; else the layout the values were rearranged into.
        let layout: AnyHashable?
    }
    private var cached: [Key: [Float]] = [:]
    private let lock = NSRecursiveLock()

    func invalidate() { lock.withLock { cached = [:] } }

    /// The cached `matrix` of `weight`, built on first use.
    private func cachedMatrix(_ matrix: WeightMatrix, of weight: Tensor) -> [Float] {
        lock.withLock {
            let key = Key(matrix: matrix, layout: nil)
            if let m = cached[key] { return m }
            let m = weight.storage.map(matrix.transform)
            cached[key] = m
            return m
        }
    }

    /// `body(A)` with `A` the `matrix` of `weight` in another order:
    /// `rearrange(W, A)` writes every value of `W` once into `A` (the same
    /// permutation on every call to one instance: the owning layer's
    /// layout), then `A`'s values are transformed in place. Built once per
    /// weight change and cached per `matrix`, for weights of at most
    /// `cacheLimit` values (callers take another product for larger ones:
    /// rearranging a large weight on every call costs more than it saves).
    func withRearranged(_ matrix: WeightMatrix, of weight: Tensor,
                        rearrange: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                        _ body: (UnsafePointer<Float>) -> Void) {
        let count = weight.count
        precondition(count <= Self.cacheLimit, "rearranged weights are cached only up to \(Self.cacheLimit) values")
        let m: [Float] = lock.withLock {
            let key = Key(matrix: matrix, layout: "transposed kernel")
            if let m = cached[key] { return m }
            let m = [Float](unsafeUninitializedCapacity: count) { a, initialized in
                weight.storage.withUnsafeBufferPointer { rearrange($0.baseAddress!, a.baseAddress!) }
                matrix.transform(a.baseAddress!, into: a.baseAddress!, count: count)
                initialized = count
            }
            cached[key] = m
            return m
        }
        m.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// `body(M)` with the whole `matrix` of `weight` in `W`'s order: `W`
    /// itself, the cached matrix, or (larger weights) derived for this call.
    func withWhole(_ matrix: WeightMatrix, of weight: Tensor, _ body: (UnsafePointer<Float>) -> Void) {
        forEachBlock(matrix, of: weight, rows: 1, blockValues: weight.count) { _, m, _ in body(m) }
    }

    /// `body(P)` with `P` (`count` values) the `matrix` of `weight` in
    /// another layout (a oneDNN primitive's, `layout` naming it), where
    /// `rearrange(W, P)` moves the values of `W` into that layout (zeros in
    /// its padding): cached per `matrix` and `layout` for weights of at most
    /// `cacheLimit` values, else made for this call. Matrices that keep
    /// zeros zero (all but `.ones`) are derived in place after the move,
    /// elementwise as `transform` is, so no derived copy in `W`'s order is made.
    func withPrepared(_ matrix: WeightMatrix, of weight: Tensor, layout: AnyHashable, count: Int,
                      rearrange: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                      _ body: (UnsafePointer<Float>) -> Void) {
        func prepare(_ out: UnsafeMutablePointer<Float>) {
            guard matrix.transform(0) == 0 else { return withWhole(matrix, of: weight) { rearrange($0, out) } }
            weight.storage.withUnsafeBufferPointer { rearrange($0.baseAddress!, out) }
            guard matrix != .weight else { return }
            parallelChunks(count) { range in
                matrix.transform(out + range.lowerBound, into: out + range.lowerBound, count: range.count)
            }
        }
        guard weight.count <= Self.cacheLimit else {
            let prepared = Scratch(count: count)
            defer { prepared.free() }
            prepare(prepared.base)
            return body(prepared.base)
        }
        let p: [Float] = lock.withLock {
            let key = Key(matrix: matrix, layout: layout)
            if let p = cached[key] { return p }
            let p = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                prepare(out.baseAddress!)
                initialized = count
            }
            cached[key] = p
            return p
        }
        p.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Calls `body(rowRange, M[rowRange, :], isFirstBlock)` for blocks of rows
    /// of `matrix` covering all of `weight`, so callers accumulate
    /// (`beta = isFirst ? 0 : 1`). `W` itself is one block; uncached matrices
    /// come in blocks of about `blockValues` values, of equal row counts.
    func forEachBlock(_ matrix: WeightMatrix, of weight: Tensor, rows: Int, blockValues: Int = WeightMatrices.blockValues,
                      _ body: (Range<Int>, UnsafePointer<Float>, Bool) -> Void) {
        if matrix == .weight {
            weight.storage.withUnsafeBufferPointer { body(0..<rows, $0.baseAddress!, true) }
            return
        }
        let cols = weight.count / rows
        if weight.count <= Self.cacheLimit {
            cachedMatrix(matrix, of: weight).withUnsafeBufferPointer { body(0..<rows, $0.baseAddress!, true) }
            return
        }
        let blocks = (weight.count + blockValues - 1) / max(1, blockValues)  // as even as the rows allow
        let blockRows = max(1, (rows + blocks - 1) / blocks)
        let block = Scratch(count: blockRows * cols)
        defer { block.free() }
        weight.storage.withUnsafeBufferPointer { w in
            for first in Swift.stride(from: 0, to: rows, by: blockRows) {
                let n = min(blockRows, rows - first), source = w.baseAddress! + first * cols
                parallelChunks(n * cols) { range in
                    matrix.transform(source + range.lowerBound, into: block.base + range.lowerBound, count: range.count)
                }
                body(first..<(first + n), UnsafePointer(block.base), first == 0)
            }
        }
    }
}

/// A dense float32 tensor: contiguous row-major storage plus a shape.
///
/// Layouts follow PyTorch everywhere: activations are NCHW (images) or
/// (B, N, C) (transformer tokens), convolution weights OIHW, linear weights
/// `[out, in]`. Storage is a Swift array, so copies are copy-on-write and a
/// tensor kept in several places (a layer's output that is the next layer's
/// input) is stored once.
public struct Tensor: Equatable, Sendable {
    /// Extent of each axis; the last axis varies fastest.
    public private(set) var shape: [Int]
    /// `shape.reduce(1, *)` values in row-major order.
    public var storage: [Float]

    /// A tensor over existing values; `storage.count` must equal the product of `shape`.
    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, storage: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose values are produced by `body(flatIndex)`.
    public init(shape: [Int], _ body: (Int) -> Float) {
        let n = shape.reduce(1, *)
        self.init(shape: shape, storage: (0..<n).map(body))
    }

    /// Total number of values.
    @inlinable public var count: Int { storage.count }
    /// Number of axes.
    @inlinable public var rank: Int { shape.count }
    /// Leading (batch) extent.
    @inlinable public var batch: Int { shape[0] }
    /// Values per batch sample (`count / shape[0]`).
    @inlinable public var sampleCount: Int { shape.isEmpty || shape[0] == 0 ? 0 : count / shape[0] }

    /// The same values under another shape of equal size; one extent may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            s[i] = known == 0 ? 0 : count / known
        }
        return Tensor(shape: s, storage: storage)
    }

    /// Value at a multi-index (slow; for tests and small tensors).
    public subscript(_ index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "index \(index) out of range for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Samples `range` of the batch axis.
    public func batchSlice(_ range: Range<Int>) -> Tensor {
        let n = sampleCount
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, storage: Array(storage[(range.lowerBound * n)..<(range.upperBound * n)]))
    }

    /// Concatenates tensors along the batch axis; all other extents must agree.
    public static func concatenateBatch(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty)
        let tail = Array(parts[0].shape.dropFirst())
        var values = [Float]()
        values.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var b = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "cannot concatenate \(p.shape) with \(parts[0].shape)")
            values += p.storage
            b += p.shape[0]
        }
        return Tensor(shape: [b] + tail, storage: values)
    }
}

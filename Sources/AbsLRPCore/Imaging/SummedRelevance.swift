/// One sample's relevance summed over channels: the map a heatmap shows.
///
/// `s = sum_c R[c]` for relevance (C, H, W) or (H, W). The heatmap draws
/// `s / (max|s| + 1e-9)` in `seismic`, so its colour bar runs from `-max|s|`
/// (dark blue) through 0 (white) to `+max|s|` (dark red).
public struct SummedRelevance: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `s`, row-major (H, W).
    public let values: [Float]
    /// `max|s|`.
    public let maxAbs: Float
    /// Whether every pixel has the same value (up to 1e-6 of `max|s|`),
    /// zero maps included: such a map says nothing about *where* the
    /// evidence is (Grad-CAM on a 1x1 feature map, a method that failed).
    public let isConstant: Bool

    public init(_ relevance: Tensor) {
        precondition(relevance.rank == 2 || relevance.rank == 3,
                     "expected relevance of shape (C, H, W) or (H, W), got \(relevance.shape)")
        height = relevance.shape[relevance.rank - 2]
        width = relevance.shape[relevance.rank - 1]
        let plane = height * width
        let channels = plane == 0 ? 0 : relevance.count / plane
        var sum = [Float](repeating: 0, count: plane)
        relevance.storage.withUnsafeBufferPointer { r in
            for c in 0..<channels {
                for i in 0..<plane { sum[i] += r[c * plane + i] }
            }
        }
        values = sum
        let low = sum.min() ?? 0, high = sum.max() ?? 0
        maxAbs = max(abs(low), abs(high))
        isConstant = high - low <= 1e-6 * maxAbs
    }
}

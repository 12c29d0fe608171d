/// How alike two relevance maps are, as the sanity checks measure it.
public enum MapSimilarity {
    /// Per image, the magnitude of relevance at each pixel, `sum_c |r[c, i, j]|`
    /// flattened (H*W values), from a (B, C, H, W) map: what Adebayo et al.
    /// compare (absolute values; a map broadcast over channels keeps its ranks).
    public static func pixelMagnitudes(_ r: Tensor) -> [[Float]] {
        precondition(r.rank == 4, "relevance \(r.shape), expected (B, C, H, W)")
        let (channels, plane) = (r.shape[1], r.shape[2] * r.shape[3])
        return (0..<r.shape[0]).map { b in
            var out = [Float](repeating: 0, count: plane)
            for c in 0..<channels {
                let base = (b * channels + c) * plane
                for p in 0..<plane { out[p] += abs(r.storage[base + p]) }
            }
            return out
        }
    }

    /// Spearman's rank correlation: the Pearson correlation of the values'
    /// ranks, ties given their average rank (`scipy.stats.spearmanr`). A
    /// constant sequence has no ranking: the result is then 0.
    public static func spearman(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "spearman of \(a.count) and \(b.count) values")
        return pearson(ranks(a), ranks(b))
    }

    /// `<a, b> / (|a| |b|)`, 0 when either is zero.
    public static func cosine<C: Collection>(_ a: C, _ b: C) -> Double where C.Element == Float {
        precondition(a.count == b.count, "cosine of \(a.count) and \(b.count) values")
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            let (u, v) = (Double(x), Double(y))
            dot += u * v; na += u * u; nb += v * v
        }
        return na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// Ranks 1...n of `v` in ascending order, ties averaged.
    static func ranks(_ v: [Float]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var ranks = [Double](repeating: 0, count: v.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && v[order[end + 1]] == v[order[start]] { end += 1 }
            let average = Double(start + end) / 2 + 1
            for i in start...end { ranks[order[i]] = average }
            start = end + 1
        }
        return ranks
    }

    /// Pearson correlation, 0 when either sequence is constant.
    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        guard n > 1 else { return 0 }
        let (ma, mb) = (a.reduce(0, +) / n, b.reduce(0, +) / n)
        var cov = 0.0, va = 0.0, vb = 0.0
        for (x, y) in zip(a, b) {
            cov += (x - ma) * (y - mb); va += (x - ma) * (x - ma); vb += (y - mb) * (y - mb)
        }
        return va == 0 || vb == 0 ? 0 : cov / (va * vb).squareRoot()
    }
}

/// Mean and standard deviation of per-image values.
public struct MeanAndDeviation: Codable, Equatable, Sendable {
    public var mean: Double
    /// Population standard deviation.
    public var standardDeviation: Double

    public init(_ values: [Double]) {
        let n = Double(max(values.count, 1))
        let mean = values.reduce(0, +) / n
        self.mean = mean
        standardDeviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
    }
}

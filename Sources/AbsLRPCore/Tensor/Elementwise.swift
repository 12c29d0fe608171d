import Foundation

/// `eps` of the absLRP rule and of every normalisation (spec, notation).
public let relevanceEpsilon: Float = 1e-9

extension Tensor {
    /// Elementwise `f(self)`.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        var out = self
        out.storage.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            parallelChunks(o.count) { range in
                for i in range { base[i] = f(base[i]) }
            }
        }
        return out
    }

    /// Elementwise `f(self, other)`; shapes must be equal.
    @inlinable
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var out = self
        out.storage.withUnsafeMutableBufferPointer { o in
            other.storage.withUnsafeBufferPointer { b in
                let (base, rhs) = (o.baseAddress!, b.baseAddress!)
                parallelChunks(o.count) { range in
                    for i in range { base[i] = f(base[i], rhs[i]) }
                }
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }

    /// `|x|` elementwise.
    public var absolute: Tensor { map { abs($0) } }

    /// Sum of all values (in Double, for tests and reports).
    public var sum: Double { storage.reduce(0) { $0 + Double($1) } }

    /// Per-sample normalisation to unit L1 mass: `t / (sum|t| + 1e-9)` over
    /// everything but the batch axis (spec: "normalize sum").
    public func normalizedSum() -> Tensor {
        // Accumulated in Double: the sum of ~10^5 terms in Float drifts by
        // ~1e-5 relative, which the contrastive difference amplifies.
        normalizedPerSample { row in
            var s: Double = 0
            for v in row { s += Double(abs(v)) }
            return Float(s)
        }
    }

    /// Per-sample normalisation to unit max magnitude: `t / (max|t| + 1e-9)`
    /// (spec: "normalize max").
    public func normalizedMax() -> Tensor {
        normalizedPerSample { row in
            var m: Float = 0
            for v in row { m = Swift.max(m, abs(v)) }
            return m
        }
    }

    private func normalizedPerSample(_ scale: (UnsafeMutableBufferPointer<Float>) -> Float) -> Tensor {
        var out = self
        let n = sampleCount
        guard n > 0 else { return out }
        out.storage.withUnsafeMutableBufferPointer { o in
            for b in 0..<shape[0] {
                let row = UnsafeMutableBufferPointer(rebasing: o[(b * n)..<((b + 1) * n)])
                let d = scale(row) + relevanceEpsilon
                for i in row.indices { row[i] /= d }
            }
        }
        return out
    }

    /// Index of the largest value of each row of a (B, K) tensor (first on ties).
    public func argmaxRows() -> [Int] {
        let k = shape[shape.count - 1]
        return (0..<(count / k)).map { r in
            var best = 0
            for j in 1..<k where storage[r * k + j] > storage[r * k + best] { best = j }
            return best
        }
    }
}

/// `sign(x)` with `sign(0) = 0`, as PyTorch's `abs` backward uses it.
@inlinable
public func signum(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }

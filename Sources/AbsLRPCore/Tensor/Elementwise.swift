import Foundation

/// `eps` of the absLRP rule and of every normalisation (spec, notation).
public let relevanceEpsilon: Float = 1e-9

extension Tensor {
    /// A tensor whose storage `fill` writes completely (no zeroing pass first).
    @inlinable
    public init(shape: [Int], filling fill: (UnsafeMutablePointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.init(shape: shape, storage: [Float](unsafeUninitializedCapacity: n) { buffer, count in
            if n > 0 { fill(buffer.baseAddress!) }
            count = n
        })
    }

    /// Elementwise `f(self)`, specialised for `F` (see `ElementwiseFunction`).
    @inlinable
    public func map<F: ElementwiseFunction>(_ f: F) -> Tensor {
        storage.withUnsafeBufferPointer { src in
            Tensor(shape: shape) { out in
                guard let x = src.baseAddress else { return }
                parallelChunks(src.count) { range in
                    for i in range { out[i] = f(x[i]) }
                }
            }
        }
    }

    /// Elementwise `f(self, other)`, specialised for `F`; shapes must be equal.
    @inlinable
    public func zipMap<F: ElementwiseFunction2>(_ other: Tensor, _ f: F) -> Tensor {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        return storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                Tensor(shape: shape) { out in
                    guard let x = a.baseAddress, let y = b.baseAddress else { return }
                    parallelChunks(a.count) { range in
                        for i in range { out[i] = f(x[i], y[i]) }
                    }
                }
            }
        }
    }

    /// Elementwise `f(self)` for a closure (called once per element: use an
    /// `ElementwiseFunction` on hot paths).
    public func map(_ f: (Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { map(ClosureFunction(body: $0)) }
    }

    /// Elementwise `f(self, other)` for a closure (called once per element).
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { zipMap(other, ClosureFunction2(body: $0)) }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, Sum()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, Difference()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, Product()) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map(Scaling(factor: s)) }

    /// `|x|` elementwise.
    public var absolute: Tensor { map(Magnitude()) }

    /// Sum of all values (in Double, for tests and reports).
    public var sum: Double { storage.reduce(0) { $0 + Double($1) } }

    /// Per-sample normalisation to unit L1 mass: `t / (sum|t| + 1e-9)` over
    /// everything but the batch axis (spec: "normalize sum"). Consuming: on
    /// a temporary (`(a * b).normalizedSum()`) it normalises in place
    /// instead of copying.
    public consuming func normalizedSum() -> Tensor {
        var out = self
        out.normalizeSum()
        return out
    }

    /// `normalizedSum()` in place.
    public mutating func normalizeSum() {
        // Accumulated in Double: the sum of ~10^5 terms in Float drifts by
        // ~1e-5 relative, which the contrastive difference amplifies.
        normalizePerSample { row, range in absoluteSum(row, range) } combine: { $0.reduce(0, +) }
    }

    /// Per-sample normalisation to unit max magnitude: `t / (max|t| + 1e-9)`
    /// (spec: "normalize max"); consuming, as `normalizedSum()`.
    public consuming func normalizedMax() -> Tensor {
        var out = self
        out.normalizePerSample { row, range in
            var m: Float = 0
            for i in range { m = Swift.max(m, abs(row[i])) }
            return Double(m)
        } combine: { $0.max() ?? 0 }
        return out
    }

    /// Divides each sample by `combine(partials) + 1e-9`, where the partials
    /// are `partial(row, range)` over chunks of the sample computed in parallel.
    private mutating func normalizePerSample(_ partial: (UnsafeMutablePointer<Float>, Range<Int>) -> Double,
                                             combine: ([Double]) -> Double) {
        let n = sampleCount
        guard n > 0 else { return }
        let samples = shape[0]
        let chunks = max(1, min(parallelWidth, n / (1 << 15)))
        storage.withUnsafeMutableBufferPointer { o in
            for b in 0..<samples {
                let row = o.baseAddress! + b * n
                var partials = [Double](repeating: 0, count: chunks)
                partials.withUnsafeMutableBufferPointer { p in
                    let pp = p.baseAddress!
                    parallelChunks(chunks, minimumChunk: 1) { cs in
                        for c in cs { pp[c] = partial(row, (c * n / chunks)..<((c + 1) * n / chunks)) }
                    }
                }
                let d = Float(combine(partials)) + relevanceEpsilon
                parallelChunks(n) { range in
                    for i in range { row[i] /= d }
                }
            }
        }
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

/// `sum |p[i]|` over `range`, accumulated in Double in 16 independent lanes
/// (a single running sum would serialise on the add's latency).
@inline(__always)
func absoluteSum(_ p: UnsafePointer<Float>, _ range: Range<Int>) -> Double {
    var low = SIMD8<Double>(), high = SIMD8<Double>()
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
        let magnitude = v.replacing(with: -v, where: v .< 0)
        low += SIMD8<Double>(magnitude.lowHalf)
        high += SIMD8<Double>(magnitude.highHalf)
        i += 16
    }
    var total = (low + high).sum()
    while i < range.upperBound {
        total += Double(abs(p[i]))
        i += 1
    }
    return total
}

/// Values per block of `holdsNegative`'s scan (16 KB).
private let nonnegativeBlock = 1 << 12

/// Whether some `p[i] < 0` over `range`, checked once per `nonnegativeBlock`
/// values (a compare per 16 lanes in between).
@inline(__always)
private func holdsNegative(_ p: UnsafePointer<Float>, _ range: Range<Int>) -> Bool {
    var i = range.lowerBound
    while i < range.upperBound {
        let end = min(i + nonnegativeBlock, range.upperBound)
        var lanes = SIMDMask<SIMD16<Int32>>()
        while i + 16 <= end {
            lanes .|= UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self) .< 0
            i += 16
        }
        var negative = any(lanes)
        while i < end {
            negative = negative || p[i] < 0
            i += 1
        }
        if negative { return true }
    }
    return false
}

/// `sign(x)` with `sign(0) = 0`, as PyTorch's `abs` backward uses it.
@inlinable
public func signum(_ x: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }

extension Tensor {
    /// Whether no value is negative (`-0` and NaN count as nonnegative).
    /// Each core's share is compared 16 values at a time, in blocks of
    /// `nonnegativeBlock`, and the scan stops at the first block holding a
    /// negative value: a signed tensor (every linear layer's input in a
    /// Vision Transformer) is decided in its first block, a nonnegative one
    /// (a ReLU's output) read once.
    public var isNonnegative: Bool {
        storage.withUnsafeBufferPointer { values in
            guard let base = values.baseAddress else { return true }
            let chunks = max(1, min(parallelWidth, values.count >> 15))
            var negative = [Bool](repeating: false, count: chunks)
            negative.withUnsafeMutableBufferPointer { found in
                parallelChunks(chunks, minimumChunk: 1) { range in
                    for c in range {
                        found[c] = holdsNegative(base, (c * values.count / chunks)..<((c + 1) * values.count / chunks))
                    }
                }
            }
            return !negative.contains(true)
        }
    }

    /// `self *= other` elementwise; shapes must be equal.
    public mutating func multiplyElementwise(by other: Tensor) { update(with: other, Product()) }

    /// `self += other` elementwise; shapes must be equal.
    public mutating func add(_ other: Tensor) { update(with: other, Sum()) }

    /// `self[i] = f(self[i], other[i])` in place; shapes must be equal.
    private mutating func update<F: ElementwiseFunction2>(with other: Tensor, _ f: F) {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        storage.withUnsafeMutableBufferPointer { o in
            other.storage.withUnsafeBufferPointer { x in
                guard let op = o.baseAddress, let xp = x.baseAddress else { return }
                parallelChunks(o.count) { range in
                    for i in range { op[i] = f(op[i], xp[i]) }
                }
            }
        }
    }
}

/// A function of one float applied elementwise, as a type: the loops over a
/// tensor are specialised for it and vectorised, where a closure captured by
/// the parallel loop is called through a pointer once per element (about
/// 3x slower on the passes between GEMMs).
public protocol ElementwiseFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two floats applied elementwise (see `ElementwiseFunction`).
public protocol ElementwiseFunction2 {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

public struct Sum: ElementwiseFunction2 {
    @inlinable public init() {}
    @inlinable public func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}

public struct Difference: ElementwiseFunction2 {
    @inlinable public init() {}
    @inlinable public func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}

public struct Product: ElementwiseFunction2 {
    @inlinable public init() {}
    @inlinable public func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}

public struct Scaling: ElementwiseFunction {
    public let factor: Float
    @inlinable public init(factor: Float) { self.factor = factor }
    @inlinable public func callAsFunction(_ x: Float) -> Float { x * factor }
}

public struct Magnitude: ElementwiseFunction {
    @inlinable public init() {}
    @inlinable public func callAsFunction(_ x: Float) -> Float { abs(x) }
}

/// A closure as an `ElementwiseFunction` (for code off the hot paths).
@usableFromInline
struct ClosureFunction: ElementwiseFunction {
    @usableFromInline let body: (Float) -> Float
    @usableFromInline init(body: @escaping (Float) -> Float) { self.body = body }
    @usableFromInline func callAsFunction(_ x: Float) -> Float { body(x) }
}

/// A closure as an `ElementwiseFunction2`.
@usableFromInline
struct ClosureFunction2: ElementwiseFunction2 {
    @usableFromInline let body: (Float, Float) -> Float
    @usableFromInline init(body: @escaping (Float, Float) -> Float) { self.body = body }
    @usableFromInline func callAsFunction(_ a: Float, _ b: Float) -> Float { body(a, b) }
}

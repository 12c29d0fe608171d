import Foundation

/// OpenBLAS's own speed on given GEMM shapes, measured now on synthetic
/// operands (the values do not change sgemm's speed; they are finite and
/// never denormal).
///
/// Each distinct shape is timed once per way of running it: one untimed
/// run, then `rounds` rounds that repeat the product until it has run about
/// `roundSeconds`; the best round's time per product is kept. Of the two
/// ways to use both cores for a product (OpenBLAS's threads on it, or one
/// single-threaded product per core) the faster counts, so the limit holds
/// whichever way an implementation chose.
enum GEMMTiming {
    /// What is to be computed.
    enum Work {
        /// One product (the forward): on OpenBLAS's threads, or its two row
        /// halves at once, one per core, OpenBLAS single-threaded in each.
        case one
        /// Two of the same product (the same product of the two relevance
        /// passes, or of GAE's two masking orders): both at once, one per core,
        /// OpenBLAS single-threaded in each (`concurrently`, as our passes run),
        /// or one after the other on OpenBLAS's threads. The time is the pair's.
        case pair
    }

    /// Products with more columns than this whose operands would exceed
    /// `largestOperand` are timed as slabs of this many columns (OpenBLAS
    /// itself walks N in blocks narrower than this); keeps VGG-16's early
    /// layers (`576 x 200704` at batch 4) from allocating gigabytes.
    static let slabColumns = 16384
    /// Floats of the largest A, B or C allocated whole.
    static let largestOperand = 1 << 24
    static let roundSeconds = 0.01

    /// `work` on every product of `shapes`, one after another: each
    /// distinct shape (after slabbing) timed once, slowest in total first.
    static func time(_ shapes: [GEMMShape], _ work: Work, rounds: Int = 3) -> [TimedGEMM] {
        var counts: [GEMMShape: Int] = [:]
        for shape in shapes {
            for slab in slabs(of: shape) { counts[slab.shape, default: 0] += slab.count }
        }
        return counts.map { shape, count in
            let (seconds, onThreads) = self.seconds(shape, work, rounds: rounds)
            let products = work == .pair ? 2.0 : 1.0
            return TimedGEMM(shape: shape, occurrences: count, seconds: seconds,
                             gflops: products * shape.flop / seconds / 1e9,
                             fasterWay: onThreads ? "OpenBLAS threads" : "one per core")
        }.sorted { $0.totalSeconds > $1.totalSeconds }
    }

    /// `shape` as `(shape, count)` slabs along N whose operands fit `largestOperand`.
    static func slabs(of shape: GEMMShape) -> [(shape: GEMMShape, count: Int)] {
        guard shape.n > slabColumns, max(shape.m, shape.k) * shape.n > largestOperand else { return [(shape, 1)] }
        var slab = shape, rest = shape
        slab.n = slabColumns
        rest.n = shape.n % slabColumns
        return [(slab, shape.n / slabColumns)] + (rest.n > 0 ? [(rest, 1)] : [])
    }

    /// Seconds of `work` on `shape` the faster way of running it, and
    /// whether that is on OpenBLAS's threads.
    static func seconds(_ shape: GEMMShape, _ work: Work, rounds: Int = 3) -> (Double, onThreads: Bool) {
        let perCore: Double
        var threaded = seconds(threads: shape, rounds: rounds)
        switch work {
        case .one:
            var top = shape, bottom = shape
            top.m = shape.m / 2
            bottom.m = shape.m - top.m
            perCore = top.m == 0 ? .infinity : seconds(perCore: top, bottom, rounds: rounds)
        case .pair:
            threaded *= 2
            perCore = seconds(perCore: shape, shape, rounds: rounds)
        }
        return (min(threaded, perCore), threaded <= perCore)
    }

    /// One `shape` product on OpenBLAS's threads.
    static func seconds(threads shape: GEMMShape, rounds: Int) -> Double {
        let operands = Operands(shape)
        return best(rounds) { repeats in
            for _ in 0..<repeats { operands.product() }
        }
    }

    /// `first` and `second` at once, one per core, OpenBLAS single-threaded
    /// in each (`concurrently`); each has its own operands.
    static func seconds(perCore first: GEMMShape, _ second: GEMMShape, rounds: Int) -> Double {
        let (a, b) = (Operands(first), Operands(second))
        return best(rounds) { repeats in
            _ = concurrently({ for _ in 0..<repeats { a.product() } }, { for _ in 0..<repeats { b.product() } })
        }
    }

    /// The best time per repetition of `rounds` rounds of `body(repeats)`.
    private static func best(_ rounds: Int, _ body: (Int) -> Void) -> Double {
        let once = ModelBenchmark.time { body(1) }
        let repeats = max(1, min(100, Int((roundSeconds / max(once, 1e-7)).rounded(.up))))
        return (0..<rounds).map { _ in ModelBenchmark.time { body(repeats) } / Double(repeats) }.min()!
    }

    /// A, B and C of one product, and the product.
    final class Operands {
        let shape: GEMMShape
        let a, b, c: Operand

        init(_ shape: GEMMShape) {
            self.shape = shape
            a = Operand(count: shape.m * shape.k); b = Operand(count: shape.k * shape.n); c = Operand(count: shape.m * shape.n)
        }

        func product() {
            sgemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k,
                  a: a.base, b: b.base, c: c.base)
        }
    }

    /// A buffer of `count` floats filled with a fixed pattern in [-0.5, 0.5).
    final class Operand {
        let base: UnsafeMutablePointer<Float>

        init(count: Int) {
            base = .allocate(capacity: max(1, count))
            for i in 0..<count { base[i] = Float(i % 251) / 251 - 0.5 }
        }

        deinit { base.deallocate() }
    }
}

/// One distinct product shape as `GEMMTiming` timed it.
public struct TimedGEMM: Codable, Sendable {
    public var shape: GEMMShape
    /// How often it occurs in the batch's products.
    public var occurrences: Int
    /// Seconds of one (of a pair, for the passes: both passes' products).
    public var seconds: Double
    /// Its rate, GFLOP/s.
    public var gflops: Double
    /// "OpenBLAS threads" or "one per core", whichever was faster.
    public var fasterWay: String

    /// occurrences * seconds.
    public var totalSeconds: Double { Double(occurrences) * seconds }
}

import Foundation

/// OpenBLAS's own speed on given GEMM shapes, measured now on synthetic
/// operands (the values do not change sgemm's speed; they are finite and
/// never denormal).
///
/// Each distinct shape is timed in `rounds` rounds after one untimed run;
/// a round repeats the product until it has run about `roundSeconds`, and
/// the best round's time per product is kept.
enum GEMMTiming {
    /// How the products run, as our passes run them.
    enum Threading {
        /// One product at a time on OpenBLAS's threads (the forward).
        case openBLASThreads
        /// Two of the same product at once, one per core, OpenBLAS
        /// single-threaded in each (`concurrently`: the two relevance
        /// passes, or GAE's two masking orders). The time is the pair's, and
        /// the two share A and B (the passes read the same weights).
        case concurrentPair
    }

    /// Products with more columns than this whose operands would exceed
    /// `largestOperand` are timed as slabs of this many columns (OpenBLAS
    /// itself walks N in blocks narrower than this); keeps VGG-16's early
    /// layers (`576 x 200704` at batch 4) from allocating gigabytes.
    static let slabColumns = 16384
    /// Floats of the largest A, B or C allocated whole.
    static let largestOperand = 1 << 24
    static let roundSeconds = 0.01

    /// Seconds of every product of `shapes`, one after another: each
    /// distinct shape timed once and counted as often as it occurs.
    /// Returns the total and the number of distinct shapes timed.
    static func totalSeconds(_ shapes: [GEMMShape], _ threading: Threading, rounds: Int = 3) -> (seconds: Double, distinct: Int) {
        var counts: [GEMMShape: Int] = [:]
        for shape in shapes { counts[shape, default: 0] += 1 }
        var timed = Set<GEMMShape>()
        let total = counts.reduce(0.0) { sum, entry in
            sum + Double(entry.value) * slabs(of: entry.key).reduce(0.0) { slabSum, slab in
                timed.insert(slab.shape)
                return slabSum + Double(slab.count) * seconds(slab.shape, threading, rounds: rounds)
            }
        }
        return (total, timed.count)
    }

    /// `shape` as `(shape, count)` slabs along N whose operands fit `largestOperand`.
    static func slabs(of shape: GEMMShape) -> [(shape: GEMMShape, count: Int)] {
        guard shape.n > slabColumns, max(shape.m, shape.k) * shape.n > largestOperand else { return [(shape, 1)] }
        var slab = shape, rest = shape
        slab.n = slabColumns
        rest.n = shape.n % slabColumns
        return [(slab, shape.n / slabColumns)] + (rest.n > 0 ? [(rest, 1)] : [])
    }

    /// Seconds of one `shape` product (of the pair, for `.concurrentPair`):
    /// the best of `rounds` rounds.
    static func seconds(_ shape: GEMMShape, _ threading: Threading, rounds: Int = 3) -> Double {
        let a = Operand(count: shape.m * shape.k), b = Operand(count: shape.k * shape.n)
        let c = [Operand(count: shape.m * shape.n), Operand(count: threading == .concurrentPair ? shape.m * shape.n : 0)]
        func product(_ out: Operand, repeats: Int) {
            for _ in 0..<repeats {
                sgemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k,
                      a: a.base, b: b.base, c: out.base)
            }
        }
        func run(_ repeats: Int) -> Double {
            ModelBenchmark.time {
                switch threading {
                case .openBLASThreads: product(c[0], repeats: repeats)
                case .concurrentPair: _ = concurrently({ product(c[0], repeats: repeats) }, { product(c[1], repeats: repeats) })
                }
            } / Double(repeats)
        }
        let once = run(1)
        let repeats = max(1, min(100, Int((roundSeconds / max(once, 1e-7)).rounded(.up))))
        return (0..<rounds).map { _ in run(repeats) }.min()!
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

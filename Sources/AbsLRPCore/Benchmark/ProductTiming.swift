import Foundation

/// A product that `ProductTiming` can time: synthetic operands for it, and
/// one run of it on them through the kernel the layers call for it (an
/// OpenBLAS sgemm, `GEMMShape`; a oneDNN convolution, `ConvolutionShape`;
/// a oneDNN matmul, `MatmulPrimitive.Shape`).
protocol TimableProduct: Hashable {
    associatedtype Operands
    /// Fresh operands (finite values, never denormal; they do not change the kernels' speed).
    func makeOperands() -> Operands
    /// The product once, on the calling thread's share of the machine (all
    /// cores outside `concurrently`, one inside).
    func run(_ operands: Operands)
    /// The product cut into two parts that together are it, one per core
    /// (a GEMM's row halves, a convolution's batch halves); nil when it cannot be cut.
    var halves: (Self, Self)? { get }
    /// Whether the product can run whole on all cores (false for a oneDNN
    /// matmul made for one thread, which the code only runs one per core).
    var runsWholeOnAllCores: Bool { get }
}

extension TimableProduct {
    var runsWholeOnAllCores: Bool { true }

    /// The `halves` of a product cut along one of its sizes (`size / 2` and
    /// the rest; nil below 2), when `available` takes both (a oneDNN shape
    /// needs its primitive).
    func halves(along size: WritableKeyPath<Self, Int>, where available: (Self) -> Bool = { _ in true }) -> (Self, Self)? {
        let whole = self[keyPath: size]
        guard whole >= 2 else { return nil }
        var first = self, second = self
        first[keyPath: size] = whole / 2
        second[keyPath: size] = whole - whole / 2
        return available(first) && available(second) ? (first, second) : nil
    }
}

/// Times products on both cores, each the faster of two ways of running it,
/// so that a limit built from these times holds whichever way an
/// implementation uses the cores:
///
/// - `.one` (a product of the forward): whole on all cores, or its two
///   `halves` at once, one per core (`concurrently`);
/// - `.pair` (the same product of the two relevance passes, or of GAE's two
///   masking orders): two at once, one per core (`concurrently`, as our
///   passes run), or one after the other on all cores; the time is the pair's.
///
/// Each timing: one untimed run, then `rounds` rounds that repeat the work
/// until it has run about `roundSeconds`; the best round's time per run is kept.
enum ProductTiming {
    enum Work {
        case one
        case pair
    }

    static let roundSeconds = 0.01

    /// Seconds of `work` on `product` the faster way, and whether that is
    /// whole on all cores (rather than one part per core).
    static func seconds<P: TimableProduct>(_ product: P, _ work: Work, rounds: Int = 3) -> (Double, onAllCores: Bool) {
        var whole = product.runsWholeOnAllCores ? seconds(allCores: product, rounds: rounds) : .infinity
        let perCore: Double
        switch work {
        case .one:
            // A product that can neither run whole nor be cut runs on one core, as a copy runs on the other.
            perCore = product.halves.map { seconds(perCore: $0.0, $0.1, rounds: rounds) }
                ?? (product.runsWholeOnAllCores ? .infinity : seconds(perCore: product, product, rounds: rounds))
        case .pair:
            whole *= 2
            perCore = seconds(perCore: product, product, rounds: rounds)
        }
        return (min(whole, perCore), whole <= perCore)
    }

    /// One `product` on all cores.
    static func seconds<P: TimableProduct>(allCores product: P, rounds: Int) -> Double {
        let operands = product.makeOperands()
        return best(rounds) { repeats in
            for _ in 0..<repeats { product.run(operands) }
        }
    }

    /// `first` and `second` at once, one per core (`concurrently`), each on its own operands.
    static func seconds<P: TimableProduct>(perCore first: P, _ second: P, rounds: Int) -> Double {
        let (a, b) = (first.makeOperands(), second.makeOperands())
        return best(rounds) { repeats in
            _ = concurrently({ for _ in 0..<repeats { first.run(a) } }, { for _ in 0..<repeats { second.run(b) } })
        }
    }

    /// The best time per repetition of `rounds` rounds of `body(repeats)`.
    private static func best(_ rounds: Int, _ body: (Int) -> Void) -> Double {
        let once = ModelBenchmark.time { body(1) }
        let repeats = max(1, min(100, Int((roundSeconds / max(once, 1e-7)).rounded(.up))))
        return (0..<rounds).map { _ in ModelBenchmark.time { body(repeats) } / Double(repeats) }.min()!
    }
}

extension ProductTiming {
    /// `work` on every product of `products`, one after another: each
    /// distinct product timed once (a wide GEMM as its `slabs`), slowest in total first.
    static func time(_ products: [MatrixProduct], _ work: Work, rounds: Int = 3) -> [TimedProduct] {
        var counts: [MatrixProduct: Int] = [:]
        for product in products {
            switch product {
            case .gemm(let shape):
                for slab in shape.slabs { counts[.gemm(slab.shape), default: 0] += slab.count }
            case .convolution, .forwardConvolution, .matmul:
                counts[product, default: 0] += 1
            }
        }
        return counts.map { product, count in
            let (seconds, onAllCores): (Double, Bool)
            let kernel: String
            switch product {
            case .gemm(let shape):
                (seconds, onAllCores) = self.seconds(shape, work, rounds: rounds)
                kernel = "OpenBLAS sgemm"
            case .convolution(let shape):
                (seconds, onAllCores) = self.seconds(shape, work, rounds: rounds)
                kernel = "oneDNN \(shape.implementation)"
            case .forwardConvolution(let shape):
                (seconds, onAllCores) = self.seconds(shape, work, rounds: rounds)
                kernel = "oneDNN \(ConvolutionForwardPrimitive.cached(shape)!.implementation)"
            case .matmul(let shape):
                (seconds, onAllCores) = self.seconds(shape, work, rounds: rounds)
                kernel = "oneDNN \(MatmulPrimitive.cached(shape)!.implementation)"
            }
            let products = work == .pair ? 2.0 : 1.0
            return TimedProduct(product: product.description, kernel: kernel, occurrences: count, seconds: seconds,
                                gflops: products * product.flop / seconds / 1e9,
                                fasterWay: onAllCores ? "all cores" : "one per core")
        }.sorted { $0.totalSeconds > $1.totalSeconds }
    }
}

/// One distinct product as `ProductTiming` timed it.
public struct TimedProduct: Codable, Sendable {
    /// The product (`MatrixProduct.description`).
    public var product: String
    /// What computed it: "OpenBLAS sgemm", or oneDNN's implementation of the primitive.
    public var kernel: String
    /// How often it occurs in the batch's products.
    public var occurrences: Int
    /// Seconds of one (of a pair, for the passes: both passes' products).
    public var seconds: Double
    /// Its rate, GFLOP/s, counting the direct product's FLOPs (`MatrixProduct.flop`):
    /// above the peak sgemm rate where the kernel multiplies less (Winograd).
    public var gflops: Double
    /// "all cores" or "one per core", whichever was faster.
    public var fasterWay: String

    /// occurrences * seconds.
    public var totalSeconds: Double { Double(occurrences) * seconds }
}

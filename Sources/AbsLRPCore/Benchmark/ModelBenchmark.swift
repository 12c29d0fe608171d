import Foundation

/// Times a model's forward pass and a relevancy method, and relates the
/// relevance time to this machine's limit for absLRP as the reference
/// defines it:
///
///     limit FLOPs   = every matrix product the reference's absLRP needs
///                     (`ProductCount`: the forward, both relevance passes
///                      with two products per affine layer for signed inputs
///                      and one for nonnegative ones, four per attention
///                      product, the identity-shortcut branch gradients;
///                      2 FLOPs per multiply-add)
///     limit seconds = limit FLOPs / peak sgemm FLOP/s
///
/// where the peak is measured in the same run on a large square product
/// (`peakSquareSize`), after the relevance runs, so the fraction of the
/// limit reached is a property of our code on this machine as loaded now.
/// Weights are random unless `weights` names a file; inputs are random
/// normal unless `input` is given.
public struct ModelBenchmark {
    public var model: String
    public var batch: Int
    public var iterations: Int
    public var method: String
    public var seed: UInt64 = 0
    /// timm-keyed safetensors weights for `model` (a preset); nil: random weights.
    public var weights: URL?
    /// The input batch (B, C, H, W); nil: `batch` random normal images.
    public var input: Tensor?
    /// Side of the square product on which the peak sgemm rate is measured.
    public static let peakSquareSize = 2048

    public init(model: String, batch: Int, iterations: Int, method: String, weights: URL? = nil, input: Tensor? = nil) {
        self.model = model; self.batch = batch; self.iterations = iterations; self.method = method
        self.weights = weights; self.input = input
    }

    /// What one benchmark run measured.
    public struct Report: Codable, Sendable {
        public var model: String
        public var method: String
        public var batch: Int
        public var iterations: Int
        public var threads: Int
        /// OpenBLAS's kernel family (see ``BLASKernel``).
        public var blasKernel: String
        /// Median seconds per image of the forward pass.
        public var forwardSecondsPerImage: Double
        /// Median seconds per image of the relevance map.
        public var relevanceSecondsPerImage: Double
        /// The products absLRP needs per image, GFLOP, by kind.
        public var products: ProductCount
        /// `products.total`, GFLOP per image.
        public var limitGFLOPPerImage: Double
        /// Peak sgemm rate, GFLOP/s: the best of several runs of one
        /// `peakSquareSize`-sided square product, measured now.
        public var peakSgemmGFLOPS: Double
        /// sgemm rate on the model's own forward GEMM shapes, GFLOP/s (for
        /// comparison: how much of the peak those shapes allow).
        public var modelShapesSgemmGFLOPS: Double
        /// Seconds per image the products take at the peak rate.
        public var limitSecondsPerImage: Double
        /// limit seconds / relevance seconds.
        public var fractionOfLimit: Double
        /// Achieved GFLOP/s of the relevance map, counted as the limit's FLOPs.
        public var relevanceGFLOPS: Double
        /// Peak resident memory of the process (VmHWM), bytes, up to the end of
        /// the relevance runs (the sgemm measurements come after them).
        public var peakResidentBytes: Int
    }

    public func run(log: (String) -> Void = { _ in }) throws -> Report {
        let classifier: Classifier
        if let weights {
            classifier = try ModelCatalog.load(model: model, weights: weights, config: nil)
        } else {
            var configuration: ModelConfiguration
            if try TimmModels.shipped().entry(named: model) != nil {
                configuration = try ModelConfiguration(timmName: model)
            } else {
                configuration = try ModelCatalog.load(model: model, weights: nil, config: nil).configuration
            }
            configuration.name = model
            classifier = Classifier(configuration: configuration)
            classifier.randomizeWeights(seed: seed)
        }
        let method = try RelevancyMethods.make(self.method, classifier: classifier)
        var rng = SplitMix64(seed: seed &+ 1)
        let x = input ?? Tensor(shape: [batch] + classifier.configuration.inputSize) { _ in rng.nextNormal() }
        try classifier.validateInput(x)
        let images = x.shape[0]

        log("forward x \(iterations)")
        _ = classifier.logits(x)
        let forward = Self.median((0..<iterations).map { _ in Self.time { _ = classifier.logits(x) } })
        log("\(method.name) x \(iterations)")
        _ = try method.relevance(x, targets: nil)
        var relevanceTimes: [Double] = []
        for _ in 0..<iterations {
            var failure: Error?
            relevanceTimes.append(Self.time { do { _ = try method.relevance(x, targets: nil) } catch { failure = error } })
            if let failure { throw failure }
        }
        // before the sgemm measurements, whose matrices are not the method's memory
        let peakResident = Self.peakResidentBytes()

        let (_, tape) = classifier.recordedForward(x.batchSlice(0..<1))
        let products = classifier.absLRPProductCount(tape, images: 1)
        log("measuring sgemm: \(Self.peakSquareSize)^3 and \(model)'s GEMM shapes")
        let peak = Self.measurePeakSgemm(size: Self.peakSquareSize)
        let shapesRate = Self.measureSgemm(classifier.forwardProducts(tape))
        let relevance = Self.median(relevanceTimes) / Double(images)
        let limitSeconds = products.total / peak
        return Report(model: model, method: method.name, batch: images, iterations: iterations, threads: blasThreadCount,
                      blasKernel: BLASKernel.selected,
                      forwardSecondsPerImage: forward / Double(images), relevanceSecondsPerImage: relevance,
                      products: products, limitGFLOPPerImage: products.total,
                      peakSgemmGFLOPS: peak, modelShapesSgemmGFLOPS: shapesRate, limitSecondsPerImage: limitSeconds,
                      fractionOfLimit: limitSeconds / relevance, relevanceGFLOPS: products.total / relevance,
                      peakResidentBytes: peakResident)
    }

    /// The best sgemm GFLOP/s of `repeats` runs of one `size x size x size`
    /// product on random data (after one untimed run).
    static func measurePeakSgemm(size: Int, repeats: Int = 7) -> Double {
        var rng = SplitMix64(seed: 7)
        let a = (0..<(size * size)).map { _ in rng.nextUniform() - 0.5 }
        let b = (0..<(size * size)).map { _ in rng.nextUniform() - 0.5 }
        var c = [Float](repeating: 0, count: size * size)
        let run = {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                sgemm(m: size, n: size, k: size, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
            } } }
        }
        run()
        let best = (0..<repeats).map { _ in time(run) }.min()!
        return 2 * Double(size * size * size) / best / 1e9
    }

    /// sgemm GFLOP/s over the given products (each distinct shape timed on
    /// random data, weighted by how often it occurs).
    static func measureSgemm(_ products: [(m: Int, n: Int, k: Int)]) -> Double {
        var counts: [[Int]: Int] = [:]
        for p in products { counts[[p.m, p.n, p.k], default: 0] += 1 }
        var totalFLOP = 0.0, totalSeconds = 0.0
        var rng = SplitMix64(seed: 7)
        for (shape, count) in counts {
            let (m, n, k) = (shape[0], shape[1], shape[2])
            let a = (0..<(m * k)).map { _ in rng.nextUniform() - 0.5 }
            let b = (0..<(k * n)).map { _ in rng.nextUniform() - 0.5 }
            var c = [Float](repeating: 0, count: m * n)
            let flop = 2 * Double(m * n * k)
            let repeats = max(2, min(50, Int(2e9 / max(flop, 1))))
            let run = {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
                } } }
            }
            run()
            let seconds = median((0..<repeats).map { _ in time(run) })
            totalFLOP += flop * Double(count)
            totalSeconds += seconds * Double(count)
        }
        return totalFLOP / totalSeconds / 1e9
    }

    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
    }

    /// VmHWM of /proc/self/status, in bytes (0 where unavailable).
    public static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}

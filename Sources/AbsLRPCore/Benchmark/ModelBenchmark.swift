import Foundation

/// Times a model's forward pass and a relevancy method, and relates the
/// times to two limits of this machine for absLRP as the reference defines
/// it, both measured in the same run after the relevance runs (so they are
/// properties of this machine as loaded now):
///
/// - the honest limit: every matrix product the reference's absLRP needs
///   (`ProductCount`: the forward, both relevance passes with two products
///   per affine layer for signed inputs and one for nonnegative ones, four
///   per attention product, the identity-shortcut branch gradients; 2 FLOPs
///   per multiply-add) at the peak sgemm rate of a large square product
///   (`peakSquareSize`);
/// - the shape-exact limit (`ShapeExactLimit`): the same products, each
///   timed in OpenBLAS on its own shape and threaded as absLRP runs it.
///
/// From the shape-exact limits it derives GAE's (`GAELimit`, `gaeSteps`
/// masking steps). Weights are random unless `weights` names a file; inputs
/// are random normal unless `input` is given.
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
    /// GAE's masking steps for `GAELimit`.
    public var gaeSteps = 10
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
        /// Seconds per image the products take at the peak rate.
        public var limitSecondsPerImage: Double
        /// limit seconds / relevance seconds. Above 1 where Winograd's
        /// convolutions (`products.winograd`) save more than the rest loses
        /// (`limitNote`).
        public var fractionOfLimit: Double
        /// Why `fractionOfLimit` may exceed 1 (`Report.limitDefinition`).
        public var limitNote = Report.limitDefinition
        /// Achieved GFLOP/s of the relevance map, counted as the limit's FLOPs.
        public var relevanceGFLOPS: Double
        /// OpenBLAS's time on absLRP's own product shapes, at this batch.
        public var shapeExact: ShapeExactLimit
        /// shapeExact.absLRPSecondsPerImage / relevance seconds.
        public var fractionOfShapeExactLimit: Double
        /// shapeExact.forwardSecondsPerImage / forward seconds.
        public var forwardFractionOfShapeExactLimit: Double
        /// GAE's products and limit (absLRP, `gaeSteps` steps).
        public var gae: GAELimit
        /// Peak resident memory of the process (VmHWM), bytes, up to the end of
        /// the relevance runs (the sgemm measurements come after them).
        public var peakResidentBytes: Int

        /// The honest limit's definition, in the JSON next to its fraction.
        public static let limitDefinition = "The limit counts every product as a direct product (a convolution: C/G*kh*kw "
            + "multiply-adds per output value) at the peak sgemm rate, also where the code computes it with Winograd "
            + "F(4x4,3x3) (products.winograd GFLOP/image of the count), which multiplies less: fractionOfLimit can exceed 1."
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

        let (_, tape) = classifier.recordedForward(x)
        let products = classifier.absLRPProducts(tape, images: images), count = products.count
        let size = Self.peakSquareSize
        log("measuring the peak sgemm rate (\(size)^3) and \(model)'s products at batch \(images)")
        let peak = 2 * pow(Double(size), 3) / ProductTiming.seconds(allCores: GEMMShape(m: size, n: size, k: size), rounds: 7) / 1e9
        let shapeExact = ShapeExactLimit.measure(products)
        let relevance = Self.median(relevanceTimes) / Double(images)
        let limitSeconds = count.total / peak
        return Report(model: model, method: method.name, batch: images, iterations: iterations, threads: blasThreadCount,
                      blasKernel: BLASKernel.selected,
                      forwardSecondsPerImage: forward / Double(images), relevanceSecondsPerImage: relevance,
                      products: count, limitGFLOPPerImage: count.total,
                      peakSgemmGFLOPS: peak, limitSecondsPerImage: limitSeconds,
                      fractionOfLimit: limitSeconds / relevance, relevanceGFLOPS: count.total / relevance,
                      shapeExact: shapeExact, fractionOfShapeExactLimit: shapeExact.absLRPSecondsPerImage / relevance,
                      forwardFractionOfShapeExactLimit: shapeExact.forwardSecondsPerImage * Double(images) / forward,
                      gae: GAELimit(steps: gaeSteps, count: count, limit: shapeExact),
                      peakResidentBytes: peakResident)
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

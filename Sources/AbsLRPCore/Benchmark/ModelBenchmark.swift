import Foundation

/// Times a model's forward pass and a relevancy method on random weights and
/// inputs, and relates the relevance time to this machine's limit:
///
///     limit FLOPs = 5 x forward GEMM FLOPs
///     (the forward, and in each of the two absLRP passes the products with
///      W^T and with |W|^T; FLOPs = 2 per multiply-add)
///     limit seconds = limit FLOPs / sgemm FLOP/s
///
/// where the sgemm rate is measured in the same run on the model's own GEMM
/// shapes, so the fraction of the limit is a property of our code, not of
/// the machine.
public struct ModelBenchmark {
    public var model: String
    public var batch: Int
    public var iterations: Int
    public var method: String
    public var seed: UInt64 = 0

    public init(model: String, batch: Int, iterations: Int, method: String) {
        self.model = model; self.batch = batch; self.iterations = iterations; self.method = method
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
        /// GEMM FLOPs of one forward, per image (2 per multiply-add).
        public var forwardGFLOPPerImage: Double
        /// 5 x the forward's GEMM FLOPs, per image.
        public var limitGFLOPPerImage: Double
        /// sgemm rate measured now on the model's GEMM shapes.
        public var sgemmGFLOPS: Double
        /// Seconds per image the limit allows at that rate.
        public var limitSecondsPerImage: Double
        /// limit seconds / relevance seconds.
        public var fractionOfLimit: Double
        /// Achieved GFLOP/s of the relevance map, counted as the limit's FLOPs.
        public var relevanceGFLOPS: Double
        /// Peak resident memory of the process (VmHWM), bytes, up to the end of
        /// the relevance runs (the sgemm measurement comes after them).
        public var peakResidentBytes: Int
    }

    public func run(log: (String) -> Void = { _ in }) throws -> Report {
        guard var configuration = ModelPresets.configuration(named: model)
            ?? (try? ModelCatalog.load(model: model, weights: nil, config: nil).configuration) else {
            throw ModelCatalogError.unknownModel(model, bundled: ModelCatalog.bundledModelNames)
        }
        configuration.name = model
        let classifier = Classifier(configuration: configuration)
        classifier.randomizeWeights(seed: seed)
        let method = try RelevancyMethods.make(self.method, classifier: classifier)
        var rng = SplitMix64(seed: seed &+ 1)
        let x = Tensor(shape: [batch] + configuration.inputSize) { _ in rng.nextNormal() }

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
        // before the sgemm measurement, whose matrices are not the method's memory
        let peakResident = Self.peakResidentBytes()

        log("measuring sgemm on \(model)'s GEMM shapes")
        let (_, tape) = classifier.recordedForward(x.batchSlice(0..<1))
        let products = classifier.forwardProducts(tape)
        let forwardFLOP = products.reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
        let sgemmRate = Self.measureSgemm(products)
        let relevance = Self.median(relevanceTimes) / Double(batch)
        let limitFLOP = 5 * forwardFLOP
        let limitSeconds = limitFLOP / (sgemmRate * 1e9)
        return Report(model: model, method: method.name, batch: batch, iterations: iterations, threads: blasThreadCount, blasKernel: BLASKernel.selected,
                      forwardSecondsPerImage: forward / Double(batch), relevanceSecondsPerImage: relevance,
                      forwardGFLOPPerImage: forwardFLOP / 1e9, limitGFLOPPerImage: limitFLOP / 1e9,
                      sgemmGFLOPS: sgemmRate, limitSecondsPerImage: limitSeconds,
                      fractionOfLimit: limitSeconds / relevance, relevanceGFLOPS: limitFLOP / relevance / 1e9,
                      peakResidentBytes: peakResident)
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

import AbsLRPCore

/// Where GAE's randomness comes from: the order of the data set (the
/// reference's `DataLoader(shuffle=True)`) and the draw of each mosaic's
/// positive image (the reference's `torch.multinomial`).
///
/// Both are pure functions of their arguments, so a batch's draws do not
/// depend on which batches ran before it, on which machine, or on how many
/// threads: shards of one run draw exactly what the whole run draws.
public protocol GAESampling {
    /// The seed recorded in the report, if the sampling has one.
    var seed: UInt64? { get }
    /// A permutation of `0..<count`: batch `b` is `order[b*B ..< (b+1)*B]`.
    func order(count: Int) -> [Int]
    /// The draw, in `0..<probabilities.count`, for mosaic `mosaic` of batch
    /// `batch` (numbered in the shuffled order over the whole data set).
    func draw(batch: Int, mosaic: Int, probabilities: [Double]) -> Int
}

/// The default sampling: SplitMix64 streams derived from one seed.
///
/// The scheme, exactly (all arithmetic wrapping on `UInt64`):
///
///     derive(seed, k_1, ..., k_n):  h = seed
///                                   for each k_i: h = SplitMix64(seed: h &+ k_i).next()
///     shuffle stream:   SplitMix64(seed: derive(seed, 0))
///     draw of (b, m):   u = (SplitMix64(seed: derive(seed, 1, b, m)).next() >> 11) * 2^-53
///
/// The order is a Fisher-Yates shuffle of `0..<count` from the shuffle
/// stream: for `i = count-1 ... 1`, swap `i` with `j = bounded(i + 1)`,
/// where `bounded(n)` is Lemire's multiply-shift with rejection: draw `x`,
/// `m = x * n` as a 128-bit product, reject while `low64(m) < (2^64 - n) % n`,
/// return `high64(m)`. The draw is the first `j` with
/// `u < p_0 + ... + p_j` (sums in `Double`), or the last `j` with `p_j > 0`
/// when rounding leaves `u` above the total.
///
/// So the batches, the positives and the predictions are the same for a
/// seed whatever the number of threads or shards. The scores pass through
/// BLAS, whose summation order may depend on its thread count; they then
/// differ in the last float digits (the masking's top-k can amplify that to
/// about 1e-4). Bit-identical scores need the same BLAS thread count
/// (`blasThreadCount`, `OPENBLAS_NUM_THREADS`).
public struct SeededSampling: GAESampling {
    public let rootSeed: UInt64

    public init(seed: UInt64) { rootSeed = seed }

    public var seed: UInt64? { rootSeed }

    public func order(count: Int) -> [Int] {
        var rng = SplitMix64(seed: Self.derive(rootSeed, [0]))
        var order = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(Self.bounded(UInt64(i + 1), using: &rng))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    public func draw(batch: Int, mosaic: Int, probabilities: [Double]) -> Int {
        var rng = SplitMix64(seed: Self.derive(rootSeed, [1, UInt64(batch), UInt64(mosaic)]))
        let u = Double(rng.next() >> 11) * 0x1p-53
        return Self.categorical(probabilities, u: u)
    }

    /// `derive(seed, keys...)` of the scheme above.
    static func derive(_ seed: UInt64, _ keys: [UInt64]) -> UInt64 {
        keys.reduce(seed) { h, k in
            var g = SplitMix64(seed: h &+ k)
            return g.next()
        }
    }

    /// Uniform integer in `0..<n` (Lemire's method with rejection; `n > 0`).
    static func bounded(_ n: UInt64, using rng: inout SplitMix64) -> UInt64 {
        let threshold = (0 &- n) % n
        while true {
            let (high, low) = rng.next().multipliedFullWidth(by: n)
            if low >= threshold { return high }
        }
    }

    /// The index `j` whose cumulative probability interval holds `u` in [0, 1).
    static func categorical(_ p: [Double], u: Double) -> Int {
        var cumulative = 0.0
        for (j, pj) in p.enumerated() {
            cumulative += pj
            if u < cumulative { return j }
        }
        return p.lastIndex { $0 > 0 } ?? p.count - 1
    }
}

/// A replay of given randomness, e.g. a reference run's `batch_order` and
/// `mosaic_positive_indices`: the order as given, and the draws listed batch
/// after batch, mosaic after mosaic (`draws[b * mosaicsPerBatch + m]`).
/// A draw missing from the list is reported as -1, which the evaluation
/// rejects with ``GAEError/invalidSampling(_:)``.
public struct ReplaySampling: GAESampling {
    public let batchOrder: [Int]
    public let draws: [Int]
    public let mosaicsPerBatch: Int

    public init(batchOrder: [Int], draws: [Int], mosaicsPerBatch: Int) {
        self.batchOrder = batchOrder
        self.draws = draws
        self.mosaicsPerBatch = mosaicsPerBatch
    }

    public var seed: UInt64? { nil }

    public func order(count: Int) -> [Int] { batchOrder }

    public func draw(batch: Int, mosaic: Int, probabilities: [Double]) -> Int {
        let i = batch * mosaicsPerBatch + mosaic
        return draws.indices.contains(i) ? draws[i] : -1
    }
}

import Foundation

/// The `index`-th of `count` disjoint parts of a run, for spreading one GAE
/// evaluation over several processes or machines (docs/gae-scale-out.md).
///
/// Sharding is by batch, after the seeded shuffle: of the `nb = N / B`
/// batches of the whole run, shard `k` evaluates batches
/// `floor(k * nb / n) ..< floor((k + 1) * nb / n)`. Every shard shuffles the
/// whole data set with the same seed, and a batch's positive draws depend
/// only on the seed and the batch number (``SeededSampling``), so the shards
/// evaluate exactly the batches of a single run and draw exactly what it
/// draws; ``GAEReport/merge(_:)`` puts them back together.
public struct Shard: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 0-based: `0 ..< count` (Slurm's `SLURM_ARRAY_TASK_ID` with `--array=0-(n-1)`,
    /// Kubernetes' `JOB_COMPLETION_INDEX`).
    public var index: Int
    public var count: Int

    /// The whole run.
    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Throws ``GAEError/invalidShard(index:count:)`` unless `0 <= index < count`.
    public func validate() throws {
        guard count >= 1, index >= 0, index < count else { throw GAEError.invalidShard(index: index, count: count) }
    }

    /// The batch numbers of this shard among `batchCount` batches (of a
    /// validated shard), computed in double width so that indices and counts
    /// up to `Int.max` cannot overflow.
    public func batches(of batchCount: Int) -> Range<Int> {
        func boundary(_ k: Int) -> Int { count.dividingFullWidth(k.multipliedFullWidth(by: batchCount)).quotient }
        return boundary(index)..<boundary(index + 1)
    }

    public var description: String { "\(index)/\(count)" }
}

extension GAEReport {
    /// Combines the reports of all shards of one run into the report the
    /// run gives unsharded: batches and results in batch order, the summary
    /// recomputed, settings with shard `0/1`, and throughput adding the
    /// shards' images and seconds (so images per second is per process).
    ///
    /// Each report must be a whole shard (``validate(source:)``), and
    /// together exactly one run: the same settings but for the shard, each of
    /// `0 ..< n` of one `n` once, no image in two shards, at least one batch.
    ///
    /// - Parameter sources: how errors name each report (its file); by
    ///   default `shard K/N`.
    /// - Throws: ``GAEError/inconsistentResults(source:reason:)`` for a report
    ///   that is not a whole shard, ``GAEError/mergeMismatch(_:)`` when the
    ///   shards do not form one run.
    public static func merge(_ reports: [GAEReport], sources: [String]? = nil) throws -> GAEReport {
        guard let first = reports.first else { throw GAEError.mergeMismatch("no reports to merge") }
        let sources = sources ?? reports.map { "shard \($0.settings.shard)" }
        for (report, source) in zip(reports, sources) { try report.validate(source: source) }
        var common = first.settings
        common.shard = .whole
        let count = first.settings.shard.count
        for (report, source) in zip(reports, sources) {
            var settings = report.settings
            settings.shard = .whole
            guard settings == common else {
                throw GAEError.mergeMismatch("\(source) (shard \(report.settings.shard)) was run with other settings than "
                                             + "\(sources[0]) (model, methods, batch size, steps, seed, pairing and data set "
                                             + "must agree)")
            }
            guard report.settings.shard.count == count else {
                throw GAEError.mergeMismatch("\(source) is shard \(report.settings.shard), not one of \(count) shards")
            }
        }
        let indices = reports.map(\.settings.shard.index).sorted()
        guard indices == Array(0..<count) else {
            let missing = Set(0..<count).subtracting(indices).sorted()
            let repeated = Dictionary(grouping: indices, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            throw GAEError.mergeMismatch("need each of the \(count) shards exactly once; missing \(missing.prefix(20)), "
                                         + "repeated \(repeated.prefix(20))")
        }
        let ordered = reports.sorted { $0.settings.shard.index < $1.settings.shard.index }
        let batches = ordered.flatMap(\.batches)
        guard !batches.isEmpty else { throw GAEError.mergeMismatch("the shards hold no batch") }
        var seen = Set<Int>()
        for record in batches {
            for index in record.indices where !seen.insert(index).inserted {
                throw GAEError.mergeMismatch("image \(index) appears in two shards (batch \(record.batch) and another)")
            }
        }
        return GAEReport(settings: common, batches: batches, results: ordered.flatMap(\.results),
                         throughput: GAEThroughput(images: ordered.reduce(0) { $0 + $1.throughput.images },
                                                   seconds: ordered.reduce(0) { $0 + $1.throughput.seconds }))
    }

    /// ``merge(_:sources:)`` of `results.json` files, named by their paths.
    public static func merge(files: [URL]) throws -> GAEReport {
        try merge(files.map { try GAEReport(contentsOf: $0) }, sources: files.map(\.path))
    }
}

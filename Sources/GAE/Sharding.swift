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

    /// The batch numbers of this shard among `batchCount` batches.
    public func batches(of batchCount: Int) -> Range<Int> {
        (index * batchCount / count)..<((index + 1) * batchCount / count)
    }

    public var description: String { "\(index)/\(count)" }
}

extension GAEReport {
    /// Combines the reports of all shards of one run into the report the
    /// run gives unsharded: batches and results in batch order, the summary
    /// recomputed, settings with shard `0/1`, and throughput adding the
    /// shards' images and seconds (so images per second is per process).
    ///
    /// - Throws: ``GAEError/mergeMismatch(_:)`` when the reports differ in
    ///   anything but their shard, or the shards are not exactly `0 ..< n` of
    ///   one `n`.
    public static func merge(_ reports: [GAEReport]) throws -> GAEReport {
        guard let first = reports.first else { throw GAEError.mergeMismatch("no reports to merge") }
        var common = first.settings
        common.shard = .whole
        let count = first.settings.shard.count
        for report in reports {
            var settings = report.settings
            settings.shard = .whole
            guard settings == common else {
                throw GAEError.mergeMismatch("shard \(report.settings.shard) was run with other settings than shard "
                                             + "\(first.settings.shard) (model, methods, batch size, steps, seed, "
                                             + "pairing and data set must agree)")
            }
            guard report.settings.shard.count == count else {
                throw GAEError.mergeMismatch("shard \(report.settings.shard) is not one of \(count) shards")
            }
        }
        let indices = reports.map(\.settings.shard.index).sorted()
        guard indices == Array(0..<count) else {
            let missing = Set(0..<count).subtracting(indices).sorted()
            let repeated = Dictionary(grouping: indices, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            throw GAEError.mergeMismatch("need each of the \(count) shards exactly once; missing \(missing), repeated \(repeated)")
        }
        let ordered = reports.sorted { $0.settings.shard.index < $1.settings.shard.index }
        let batches = ordered.flatMap(\.batches)
        guard batches.map(\.batch) == batches.map(\.batch).sorted(), Set(batches.map(\.batch)).count == batches.count else {
            throw GAEError.mergeMismatch("the shards' batches overlap or are out of order")
        }
        return GAEReport(settings: common, batches: batches, results: ordered.flatMap(\.results),
                         throughput: GAEThroughput(images: ordered.reduce(0) { $0 + $1.throughput.images },
                                                   seconds: ordered.reduce(0) { $0 + $1.throughput.seconds }))
    }

    /// ``merge(_:)`` of `results.json` files.
    public static func merge(files: [URL]) throws -> GAEReport {
        try merge(files.map { try GAEReport(contentsOf: $0) })
    }
}

import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// The run's machinery on a tiny random model: reproducibility, pairings,
/// sharding and merging, progress.
final class GAERunTests: XCTestCase {
    private let classifier = TinyModel.classifier()
    private lazy var dataset = TinyModel.dataset(count: 26, labeller: classifier)

    private func evaluate(batchSize: Int = 8, seed: UInt64 = 5, pairing: PositivePairing = .consistent,
                     shard: Shard = .whole, progress: ProgressReporter? = nil) throws -> GAEReport {
        let gae = try GlobalAttributionEvaluation(
            classifier: classifier, methods: [AbsLRP(classifier: classifier)],
            configuration: GAEConfiguration(batchSize: batchSize, steps: 4, seed: seed, pairing: pairing, shard: shard))
        return try gae.run(on: dataset, progress: progress)
    }

    func testRunCoversWholeBatchesOnly() throws {
        let report = try evaluate()
        XCTAssertEqual(report.batches.map(\.batch), [0, 1, 2])  // 26 images: 3 batches of 8, 2 left out
        XCTAssertEqual(Set(report.batches.flatMap(\.indices)).count, 24)
        XCTAssertEqual(report.results.count, 3 * 2)
        XCTAssertEqual(report.throughput.images, 24)
        XCTAssertEqual(report.summary.map(\.method), ["abslrp"])
        XCTAssertEqual(report.summary[0].count, 6)
        for r in report.results {
            XCTAssertEqual(r.gae, r.localConsistency * r.contrastiveness)
            XCTAssertEqual(r.label, dataset.labels[r.index])
            XCTAssertTrue(r.gae.isFinite)
        }
    }

    /// Two methods that both explain the classifier's own record: the
    /// masking's recorded forward of each step serves only the first (its
    /// passes release the records; a second one over them trapped), which
    /// scores exactly as it does alone; the second explains the masked inputs
    /// from forwards of both orders at once (`2M` images, not `M`), so its
    /// scores equal the first's up to BLAS's float rounding.
    func testTwoMethodsOnTheClassifiersRecordScoreAsEachAlone() throws {
        let again = try AbsLRP(classifier: classifier, composite: classifier.absLRPComposite, name: "abslrp-again")
        XCTAssertTrue(again.explainsClassifierRecord)
        let both = try GlobalAttributionEvaluation(
            classifier: classifier, methods: [AbsLRP(classifier: classifier), again],
            configuration: GAEConfiguration(batchSize: 8, steps: 4, seed: 5)).run(on: dataset)
        let alone = try evaluate(seed: 5)
        let first = both.results.filter { $0.method == "abslrp" }, second = both.results.filter { $0.method == "abslrp-again" }
        XCTAssertEqual(first, alone.results)
        XCTAssertEqual(second.map(\.index), alone.results.map(\.index))
        for (x, y) in zip(second, alone.results) {
            XCTAssertEqual(x.gae, y.gae, accuracy: 1e-5)
            XCTAssertEqual(x.localConsistency, y.localConsistency, accuracy: 1e-5)
            XCTAssertEqual(x.contrastiveness, y.contrastiveness)
        }
    }

    func testSameSeedSameResults() throws {
        let a = try evaluate(seed: 42), b = try evaluate(seed: 42), c = try evaluate(seed: 43)
        assertSameOutcome(a, b)
        XCTAssertNotEqual(a.batches, c.batches, "another seed shuffles differently")
    }

    /// The data-set order, the positives and the predictions do not depend on
    /// the number of BLAS threads; the scores only through BLAS's summation
    /// order (float rounding, which the masking's top-k can amplify a little).
    func testSamplingDoesNotDependOnBLASThreads() throws {
        let saved = blasThreadCount
        defer { blasThreadCount = saved }
        blasThreadCount = 1
        let one = try evaluate(seed: 9)
        blasThreadCount = 2
        let two = try evaluate(seed: 9)
        XCTAssertEqual(one.batches, two.batches)
        XCTAssertEqual(one.results.map { [$0.batch, $0.index, $0.label, $0.prediction] + $0.mosaic },
                       two.results.map { [$0.batch, $0.index, $0.label, $0.prediction] + $0.mosaic })
        for (a, b) in zip(one.results, two.results) {
            for name in GAEFixture.scoreNames {
                XCTAssertEqual(a.score(name), b.score(name), accuracy: 1e-3 * max(1, abs(b.score(name))), name)
            }
        }
    }

    func testTwoShardsMergedEqualOneRun() throws {
        let whole = try evaluate(seed: 3)
        let first = try evaluate(seed: 3, shard: Shard(index: 0, count: 2))
        let second = try evaluate(seed: 3, shard: Shard(index: 1, count: 2))
        XCTAssertEqual(first.batches.map(\.batch), [0])
        XCTAssertEqual(second.batches.map(\.batch), [1, 2])
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var files: [URL] = []
        for (i, report) in [second, first].enumerated() {  // order of the files does not matter
            let shardFolder = folder.appendingPathComponent("shard\(i)")
            try FileManager.default.createDirectory(at: shardFolder, withIntermediateDirectories: true)
            files.append(try report.write(to: shardFolder).json)
        }
        let merged = try GAEReport.merge(files: files)
        assertSameOutcome(merged, whole)
        XCTAssertEqual(merged.throughput.seconds, first.throughput.seconds + second.throughput.seconds, accuracy: 1e-9)
    }

    func testMergeRejectsIncompleteOrMismatchedShards() throws {
        let first = try evaluate(seed: 3, shard: Shard(index: 0, count: 2))
        XCTAssertThrowsError(try GAEReport.merge([first])) { error in
            guard case GAEError.mergeMismatch(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("missing [1]"), reason)
        }
        XCTAssertThrowsError(try GAEReport.merge([first, first]))
        let other = try evaluate(seed: 4, shard: Shard(index: 1, count: 2))
        XCTAssertThrowsError(try GAEReport.merge([first, other])) { error in
            XCTAssertTrue("\(error)".contains("other settings"), "\(error)")
        }
        XCTAssertThrowsError(try GAEReport.merge([]))
    }

    func testConsistentPairingExplainsThePositiveInItsOwnMosaic() throws {
        let report = try evaluate(batchSize: 8, pairing: .consistent)
        for r in report.results {
            let batch = report.batches.first { $0.batch == r.batch }!.indices
            XCTAssertTrue(r.mosaic.contains(r.index), "positive \(r.index) not in mosaic \(r.mosaic)")
            // Tile q of mosaic m is batch image qM + m (M = 2).
            let m = batch.firstIndex(of: r.mosaic[0])!
            XCTAssertEqual(r.mosaic, (0..<4).map { batch[$0 * 2 + m] })
        }
    }

    func testReferencePairingDrawsFromFourConsecutiveImages() throws {
        let report = try evaluate(batchSize: 8, pairing: .reference)
        for (k, r) in report.results.enumerated() {
            let batch = report.batches.first { $0.batch == r.batch }!.indices
            let m = k % 2  // two mosaics per batch, one method
            XCTAssertTrue(batch[(4 * m)..<(4 * m + 4)].contains(r.index))
            XCTAssertEqual(r.mosaic, (0..<4).map { batch[$0 * 2 + m] })
        }
    }

    func testProgressIsReportedAfterEveryBatch() throws {
        final class Recorder: ProgressReporter {
            var seen: [GAEProgress] = []
            func report(_ progress: GAEProgress) { seen.append(progress) }
        }
        let recorder = Recorder()
        _ = try evaluate(progress: recorder)
        XCTAssertEqual(recorder.seen.map(\.imagesDone), [0, 8, 16, 24])
        XCTAssertTrue(recorder.seen.allSatisfy { $0.imagesTotal == 24 })
    }
}

import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// `--resume` in the library: the journal records every batch, a resumed run
/// (after a clean stop, a torn last record, a cut anywhere) equals an
/// uninterrupted one bit for bit, and a journal of another run or a damaged
/// one is refused.
final class ResumeTests: XCTestCase {
    private let classifier = TinyModel.classifier()
    private lazy var dataset = TinyModel.dataset(count: 42, labeller: classifier)  // 5 batches of 8
    private var folder: URL!
    private var journalURL: URL { folder.appendingPathComponent(GAEJournal.fileName) }

    override func setUp() { folder = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// A run of absLRP and the random baseline (whose stream must restart per
    /// batch), keeping the 2 best and worst pictures per method (`extremes`).
    private func evaluate(_ journal: GAEJournal.Use?, steps: Int = 3, seed: UInt64 = 5, shard: Shard = .whole,
                          keepLast: Bool = false, model: Classifier? = nil, top: Int = 2,
                          progress: ProgressReporter? = nil) throws -> GAEReport {
        let model = model ?? classifier
        let gae = try GlobalAttributionEvaluation(
            classifier: model, methods: [AbsLRP(classifier: model), RandomRelevance(classifier: model, seed: 2)],
            configuration: GAEConfiguration(batchSize: 8, steps: steps, seed: seed, shard: shard, keepLast: keepLast))
        extremes = ExtremeMaps(k: top)
        return try gae.run(on: dataset, progress: progress, journal: journal, keeping: extremes)
    }

    /// The pictures the last `evaluate` kept.
    private var extremes = ExtremeMaps(k: 2)

    /// The pictures kept of `report`'s results, per method best and worst.
    private func keptPictures(_ report: GAEReport) -> [ExtremeMaps.Picture] {
        report.settings.methods.flatMap { method in
            ExtremesFigure.columns(report.results.filter { $0.method == method }, k: extremes.k)
                .flatMap(\.entries).map { extremes.picture(method: method, index: $0.index)! }
        }
    }

    /// The byte offsets just after each newline of the journal.
    private func recordEnds(_ data: Data) -> [Int] {
        data.indices.filter { data[$0] == UInt8(ascii: "\n") }.map { $0 + 1 }
    }

    func testJournalRecordsEveryBatchInOrder() throws {
        let report = try evaluate(.start(journalURL))
        let contents = try GAEJournal.read(journalURL)
        XCTAssertEqual(contents.fingerprint?.settings, report.settings)
        XCTAssertEqual(contents.entries.map(\.batch), report.batches)
        XCTAssertEqual(contents.entries.flatMap(\.results), report.results)
        XCTAssertEqual(contents.entries.count, 5)
        XCTAssertEqual(contents.completeLength, try Data(contentsOf: journalURL).count)
        XCTAssertEqual(contents.entries.map(\.seconds), contents.entries.map(\.seconds).sorted())
    }

    /// A run without a journal, one that starts a journal, and one that
    /// resumes a journal with no batches all give the same report; so does
    /// resuming a complete journal, which evaluates nothing again.
    func testResumingAFinishedJournalEvaluatesNothing() throws {
        let plain = try evaluate(nil)
        let journaled = try evaluate(.start(journalURL))
        assertSameOutcome(journaled, plain)
        final class Recorder: ProgressReporter {
            var seen: [Int] = []
            func report(_ progress: GAEProgress) { seen.append(progress.imagesDone) }
        }
        let recorder = Recorder()
        let resumed = try evaluate(.resume(journalURL), progress: recorder)
        assertSameOutcome(resumed, plain)
        XCTAssertEqual(recorder.seen, [40], "all 5 batches come from the journal")
        XCTAssertEqual(resumed.throughput.seconds, try GAEJournal.read(journalURL).entries.last!.seconds, accuracy: 1)
    }

    /// The journal cut after records 1, 3 and 5, inside the record that
    /// follows, just before its newline, and with that record's bytes damaged: the
    /// resumed run equals the uninterrupted one, and its journal holds the
    /// whole run again.
    func testResumeAfterTruncatedOrTornJournalEqualsUninterruptedRun() throws {
        let whole = try evaluate(.start(journalURL))
        let pictures = keptPictures(whole)
        XCTAssertEqual(pictures.count, 2 * 2 * 2, "2 best and 2 worst of 2 methods")
        let complete = try Data(contentsOf: journalURL)
        let ends = recordEnds(complete)
        XCTAssertEqual(ends.count, 6)
        var cuts: [(name: String, data: Data)] = []
        for (k, end) in ends.enumerated() where k % 2 == 0 && k + 1 < ends.count {
            let next = ends[k + 1]
            cuts.append(("after record \(k + 1)", complete.prefix(end)))
            cuts.append(("inside record \(k + 2)", complete.prefix(end + (next - end) / 2)))
            cuts.append(("record \(k + 2) without its newline", complete.prefix(next - 1)))
            var damaged = complete.prefix(next)
            damaged[end + 20] ^= 0x01
            cuts.append(("record \(k + 2) with a flipped bit", damaged))
        }
        for cut in cuts {
            try cut.data.write(to: journalURL)
            let resumed = try evaluate(.resume(journalURL))
            assertSameOutcome(resumed, whole, cut.name)
            XCTAssertEqual(keptPictures(resumed), pictures, "the best/worst pictures, \(cut.name)")
            let again = try GAEJournal.read(journalURL)
            XCTAssertEqual(again.entries.map(\.batch), whole.batches, cut.name)
            XCTAssertEqual(again.entries.flatMap(\.results), whole.results, cut.name)
        }
    }

    /// A journal torn inside its first record (the fingerprint) holds nothing: the run starts afresh.
    func testJournalTornInsideTheFingerprintStartsAfresh() throws {
        let whole = try evaluate(.start(journalURL))
        let complete = try Data(contentsOf: journalURL)
        for length in [0, 5, recordEnds(complete)[0] - 1] {
            try complete.prefix(length).write(to: journalURL)
            assertSameOutcome(try evaluate(.resume(journalURL)), whole, "cut at \(length)")
        }
    }

    func testResumeWithoutJournalStartsOne() throws {
        let whole = try evaluate(nil)
        assertSameOutcome(try evaluate(.resume(journalURL)), whole)
        XCTAssertEqual(try GAEJournal.read(journalURL).entries.count, 5)
    }

    /// Another number of steps, seed, shard, model weights or BLAS thread
    /// count: the journal is refused, naming what differs.
    func testResumeRefusesAJournalOfOtherSettings() throws {
        _ = try evaluate(.start(journalURL))
        let before = try Data(contentsOf: journalURL)
        func assertRefused(_ expected: [String], file: StaticString = #filePath, line: UInt = #line,
                           _ run: () throws -> GAEReport) {
            XCTAssertThrowsError(try run(), file: file, line: line) { error in
                guard case GAEError.journalMismatch(let path, let differences) = error else {
                    return XCTFail("\(error)", file: file, line: line)
                }
                XCTAssertEqual(path, journalURL.path, file: file, line: line)
                for name in expected {
                    XCTAssertTrue(differences.contains { $0.hasPrefix(name + ":") }, "\(name) in \(differences)",
                                  file: file, line: line)
                }
                XCTAssertTrue("\(error)".contains("without --resume"), "\(error)", file: file, line: line)
            }
        }
        assertRefused(["steps"]) { try evaluate(.resume(journalURL), steps: 4) }
        assertRefused(["seed", "data-set order checksum"]) { try evaluate(.resume(journalURL), seed: 6) }
        assertRefused(["shard"]) { try evaluate(.resume(journalURL), shard: Shard(index: 0, count: 2)) }
        assertRefused(["keep-last"]) { try evaluate(.resume(journalURL), keepLast: true) }
        assertRefused(["best/worst pictures kept (--top)"]) { try evaluate(.resume(journalURL), top: 3) }
        assertRefused(["weights checksum", "first-batch logits checksum"]) {
            try evaluate(.resume(journalURL), model: TinyModel.classifier(seed: 8))
        }
        let saved = blasThreadCount
        defer { blasThreadCount = saved }
        blasThreadCount = saved == 1 ? 2 : 1
        assertRefused(["BLAS threads (OPENBLAS_NUM_THREADS)"]) { try evaluate(.resume(journalURL)) }
        XCTAssertEqual(try Data(contentsOf: journalURL), before, "a refused journal is left as it was")
    }

    /// Without resuming, a new journal replaces one of other settings.
    func testStartingReplacesAnEarlierJournal() throws {
        _ = try evaluate(.start(journalURL), steps: 4)
        let report = try evaluate(.start(journalURL))
        XCTAssertEqual(try GAEJournal.read(journalURL).fingerprint?.settings, report.settings)
    }

    /// A damaged record before the last one is not a torn write: refused.
    func testDamageBeforeTheLastRecordIsRefused() throws {
        _ = try evaluate(.start(journalURL))
        var data = try Data(contentsOf: journalURL)
        data[recordEnds(data)[1] + 30] ^= 0x01  // inside record 3 of 6
        try data.write(to: journalURL)
        XCTAssertThrowsError(try evaluate(.resume(journalURL))) { error in
            guard case GAEError.corruptJournal(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "record 3: checksum mismatch")
        }
    }

    /// Intact records that do not fit the run (another batch's indices, a
    /// missing result, more batches than the shard has) are refused.
    func testRecordsThatDoNotFitTheRunAreRefused() throws {
        _ = try evaluate(.start(journalURL))
        let contents = try GAEJournal.read(journalURL)
        let fingerprint = try XCTUnwrap(contents.fingerprint)
        func rewrite(_ entries: [GAEJournal.Entry]) throws {
            let journal = try GAEJournal.open(.start(journalURL), fingerprint: fingerprint)
            for entry in entries { try journal.append(entry) }
        }
        var swapped = contents.entries
        swapped[1].batch.indices.swapAt(0, 1)
        var short = contents.entries
        short[2].results.removeLast()
        let cases: [(entries: [GAEJournal.Entry], reason: String)] = [
            (swapped, "batch 1 holds other data-set indices than this run's"),
            (short, "batch 2 does not hold one result per mosaic and method"),
            (Array(contents.entries.dropFirst()), "batch 1 where batch 0 belongs"),
            (contents.entries + [contents.entries[4]], "it records 6 batches, but shard 0/1 has 5"),
        ]
        for (entries, expected) in cases {
            try rewrite(entries)
            XCTAssertThrowsError(try evaluate(.resume(journalURL))) { error in
                guard case GAEError.corruptJournal(_, let reason) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(reason, expected)
            }
        }
    }

    /// The journal's entries hold no pictures in memory (the file does: they
    /// grew with every batch and no memory estimate counted them); a resumed
    /// run reads back only the kept ones (`recordedPictures`), the same as
    /// an uninterrupted run keeps.
    func testJournalKeepsPicturesOnDiskOnlyAndAResumedRunReadsBackTheKeptOnes() throws {
        let plain = try evaluate(nil)
        let plainPictures = keptPictures(plain)
        _ = try evaluate(.start(journalURL))
        let recorded = try GAEJournal.read(journalURL)
        XCTAssertGreaterThanOrEqual(recorded.entries.flatMap(\.pictures).count, plainPictures.count, "the file holds them")
        XCTAssertTrue(try GAEJournal.read(journalURL, pictures: false).entries.allSatisfy(\.pictures.isEmpty))
        let journal = try GAEJournal.open(.resume(journalURL), fingerprint: try XCTUnwrap(recorded.fingerprint))
        XCTAssertTrue(journal.entries.allSatisfy(\.pictures.isEmpty), "opened without pictures")
        let some = Array(plain.results.prefix(3))
        XCTAssertFalse(try journal.recordedPictures(of: some).isEmpty, "the first batch's positives were kept then")
        XCTAssertEqual(try journal.recordedPictures(of: some),
                       recorded.entries.flatMap(\.pictures).filter { p in some.contains { $0.method == p.method && $0.index == p.index } })
        try journal.append(recorded.entries[0])
        XCTAssertTrue(journal.entries.allSatisfy(\.pictures.isEmpty), "appended without pictures in memory")
        XCTAssertEqual(try GAEJournal.read(journalURL).entries.last!.pictures, recorded.entries[0].pictures, "on disk with them")
        _ = try evaluate(.start(journalURL))
        let resumed = try evaluate(.resume(journalURL))
        assertSameOutcome(resumed, plain)
        XCTAssertEqual(keptPictures(resumed), plainPictures)
    }

    /// A journal whose records lack the picture of a positive the resumed
    /// run keeps is refused, naming the batch and the positive.
    func testAJournalLackingAKeptPictureIsRefused() throws {
        let plain = try evaluate(.start(journalURL))
        let contents = try GAEJournal.read(journalURL)
        let journal = try GAEJournal.open(.start(journalURL), fingerprint: try XCTUnwrap(contents.fingerprint))
        for entry in contents.entries { try journal.append(GAEJournal.Entry(batch: entry.batch, results: entry.results,
                                                                           seconds: entry.seconds)) }
        // the first kept positive, in the run's order, is the one named
        let first = try XCTUnwrap(plain.results.first { r in keptPictures(plain).contains { $0.method == r.method && $0.index == r.index } })
        XCTAssertThrowsError(try evaluate(.resume(journalURL))) { error in
            guard case GAEError.corruptJournal(_, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(reason, "batch \(first.batch) lacks the picture of \(first.method)'s positive #\(first.index)")
        }
    }

    func testUnreadableJournalIsRefused() throws {
        try FileManager.default.createDirectory(at: journalURL, withIntermediateDirectories: false)
        XCTAssertThrowsError(try evaluate(.resume(journalURL))) { error in
            guard case GAEError.corruptJournal = error else { return XCTFail("\(error)") }
        }
    }

    /// The random baseline restarts its stream at each batch, so two shards
    /// merged give what one run gives for it too.
    /// A journal cut or appended to by another process while it is read
    /// (two runs on one folder): `corruptJournal` naming the change, not a
    /// fault (it was mapped once, and a cut was a SIGBUS on the next record).
    func testAJournalChangedWhileItIsReadIsRefused() throws {
        _ = try evaluate(.start(journalURL))
        let complete = try Data(contentsOf: journalURL)
        let ends = recordEnds(complete)
        for (change, length) in [("cut", ends[0]), ("appended to", complete.count + 100)] {
            try complete.write(to: journalURL)
            var read = 0
            XCTAssertThrowsError(try GAEJournal.read(journalURL, pictures: true) { _ in true } each: { _ in
                read += 1
                if read == 1 { XCTAssertEqual(truncate(self.journalURL.path, off_t(length)), 0) }
            }, change) { error in
                XCTAssertEqual(error as? GAEError, .corruptJournal(
                    path: journalURL.path, reason: "it changed from \(complete.count) to \(length) bytes while it was read "
                        + "(another process is writing it)"), change)
            }
        }
    }

    func testRandomBaselineIsTheSameInShardsAndInOneRun() throws {
        let whole = try evaluate(nil)
        let parts = try (0..<2).map { try evaluate(nil, shard: Shard(index: $0, count: 2)) }
        assertSameOutcome(try GAEReport.merge(parts), whole)
    }
}

import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// The built `abslrp` killed with SIGKILL in the middle of `evaluate`, then
/// resumed: the kill loses at most the batch in progress, and the resumed
/// results equal an uninterrupted run's bit for bit.
final class KillAndResumeTests: XCTestCase {
    private var folder: URL!

    override func setUp() { folder = Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    /// `abslrp` beside the test bundle (both built by `swift build --build-tests`).
    private var executable: URL { Bundle.main.bundleURL.appendingPathComponent("abslrp") }

    /// `abslrp evaluate` of 6 batches of 8 Fashion-MNIST images on the bundled
    /// ResNet (absLRP and the random baseline, two steps, one BLAS thread so
    /// that every process computes the same bits), started in the background.
    private func startEvaluate(into out: URL, resume: Bool) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["evaluate", "--model", "resnet_fmnist", "--dataset", "fashion-mnist-test", "--limit", "50",
                             "--batch-size", "8", "--steps", "2", "--methods", "abslrp,random", "--out", out.path]
            + (resume ? ["--resume"] : [])
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Complete lines of the journal in `out` (1 fingerprint + 1 per batch).
    private func journalLines(_ out: URL) -> Int {
        let data = (try? Data(contentsOf: out.appendingPathComponent(GAEJournal.fileName))) ?? Data()
        return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    /// Waits until the journal has `lines` lines, then (after `delay`
    /// seconds, to land anywhere in the next batch) kills the process.
    private func kill(_ process: Process, whenJournalOf out: URL, has lines: Int, delay: Double) throws {
        let deadline = Date().addingTimeInterval(300)
        while journalLines(out) < lines {
            guard process.isRunning, Date() < deadline else {
                return XCTFail("the run ended or stalled before batch \(lines - 1) was journaled")
            }
            usleep(5_000)
        }
        usleep(useconds_t(delay * 1e6))
        XCTAssertTrue(process.isRunning, "the run finished before it could be killed: use more batches")
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
    }

    func testKilledRunResumesToTheUninterruptedResults() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            return XCTFail("\(executable.path) is missing: build it with `swift build --build-tests`")
        }
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        let uninterrupted = try startEvaluate(into: whole, resume: false)
        uninterrupted.waitUntilExit()
        XCTAssertEqual(uninterrupted.terminationStatus, 0)

        // Killed right after batch 0 is journaled, then in the middle of a later batch.
        try kill(try startEvaluate(into: killed, resume: true), whenJournalOf: killed, has: 2, delay: 0)
        let afterFirstKill = journalLines(killed)
        XCTAssertGreaterThanOrEqual(afterFirstKill, 2, "the journaled batch survives the kill")
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent(GAEReport.jsonFileName).path),
                       "no results file from a killed run")
        try kill(try startEvaluate(into: killed, resume: true), whenJournalOf: killed, has: afterFirstKill + 2,
                 delay: 0.2)
        let afterSecondKill = try GAEJournal.read(killed.appendingPathComponent(GAEJournal.fileName))
        XCTAssertGreaterThanOrEqual(afterSecondKill.entries.count, afterFirstKill + 1)
        XCTAssertLessThan(afterSecondKill.entries.count, 6, "killed before the end")

        let resumed = try startEvaluate(into: killed, resume: true)
        resumed.waitUntilExit()
        XCTAssertEqual(resumed.terminationStatus, 0)
        let a = try GAEReport(contentsOf: killed.appendingPathComponent(GAEReport.jsonFileName))
        let b = try GAEReport(contentsOf: whole.appendingPathComponent(GAEReport.jsonFileName))
        assertSameOutcome(a, b)
        XCTAssertEqual(a.results.count, 6 * 2 * 2)  // batches x mosaics x methods
    }
}

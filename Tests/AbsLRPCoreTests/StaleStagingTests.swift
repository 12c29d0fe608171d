import Foundation
import XCTest
@testable import AbsLRPCore
import TestFixtures

/// Staging folders left by killed runs are removed by the next run, and
/// nothing else is: not a live run's, not another output's, not a link.
final class StaleStagingTests: TemporaryFolderTestCase {
    /// `abslrp` beside the test bundle (both built by `swift build --build-tests`).
    private var executable: URL { Bundle.main.bundleURL.appendingPathComponent("abslrp") }

    /// Starts `abslrp explain` of `copies` copies of a fixture image into `out`, stderr to `log`.
    private func startExplain(copies: Int, log: URL) throws -> Process {
        let process = Process()
        process.executableURL = executable
        let image = Fixtures.url("images/rgb_77x53.png").path
        process.arguments = ["explain", "--model", "resnet_fmnist", "--batch-size", "1", "--out", out.path]
            + Array(repeating: image, count: copies)
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        return process
    }

    /// The staging folders beside `out`.
    private func stagingFolders() throws -> [String] {
        try contents(parent).filter { $0.hasPrefix(".out.staging-") }
    }

    /// A run killed by SIGKILL leaves its locked staging folder; while it
    /// lives no other run touches it; once it is dead the next `abslrp`
    /// run removes it and says so.
    func testFolderOfARunKilledBySIGKILLIsRemovedByTheNextRun() throws {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            return XCTFail("\(executable.path) is missing: build it with `swift build --build-tests`")
        }
        let killed = try startExplain(copies: 2000, log: parent.appendingPathComponent("killed.log"))
        let deadline = Date().addingTimeInterval(120)
        while try stagingFolders().isEmpty {
            guard killed.isRunning, Date() < deadline else { return XCTFail("the run ended before it staged anything") }
            usleep(5_000)
        }
        let left = try XCTUnwrap(try stagingFolders().first)
        XCTAssertTrue(left.hasPrefix(".out.staging-\(killed.processIdentifier)-"), left)

        // A concurrent run while the first is alive leaves its folder alone.
        var notices: [String] = []
        let concurrent = try RunOutput(folder: out) { notices.append($0) }
        XCTAssertEqual(notices, [])
        XCTAssertTrue(try stagingFolders().contains(left))
        concurrent.discard()

        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        XCTAssertEqual(killed.terminationReason, .uncaughtSignal)
        XCTAssertEqual(try stagingFolders(), [left], "SIGKILL leaves the staging folder")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("index.html").path))

        let log = parent.appendingPathComponent("next.log")
        let next = try startExplain(copies: 1, log: log)
        next.waitUntilExit()
        let said = try String(contentsOf: log)
        XCTAssertEqual(next.terminationStatus, 0, said)
        XCTAssertEqual(try stagingFolders(), [])
        XCTAssertTrue(said.contains("removed \(parent.appendingPathComponent(left).path): the staging folder of run "
                                    + "\(killed.processIdentifier), which is no longer running"), said)
        XCTAssertTrue(try contents(out).contains("index.html"))
    }

    /// The owner of a process that has exited (its pid reaped).
    private func deadOwner() throws -> RunOwner {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return RunOwner(pid: process.processIdentifier, startTime: 12345, boot: RunOwner.current.boot)
    }

    /// The owner of a live process (`sleep 60`; the caller terminates it).
    private func liveOwner() throws -> (RunOwner, Process) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["60"]
        try process.run()
        let start = try XCTUnwrap(RunOwner.startTime(of: process.processIdentifier))
        return (RunOwner(pid: process.processIdentifier, startTime: start, boot: RunOwner.current.boot), process)
    }

    private func makeFolder(_ name: String) throws -> URL {
        let url = parent.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url.appendingPathComponent("picture.png"))
        return url
    }

    /// Only real folders of this output's pattern whose owners are gone and
    /// whose locks are free are removed; links inside are not followed.
    func testOnlyStaleStagingFoldersOfThisOutputAreRemoved() throws {
        let dead = try deadOwner()
        let otherBoot = RunOwner(pid: getpid(), startTime: RunOwner.current.startTime, boot: "0123456789ab")
        XCTAssertFalse(dead.isRunning)
        XCTAssertFalse(otherBoot.isRunning, "a process of another boot is not running")
        XCTAssertTrue(RunOwner.current.isRunning)

        let keptOutside = parent.appendingPathComponent("precious")
        try Data("keep".utf8).write(to: keptOutside)
        let stale = try makeFolder(".out.staging-\(dead.token)-0a1b2c3d")
        try FileManager.default.createSymbolicLink(at: stale.appendingPathComponent("link"), withDestinationURL: keptOutside)
        try FileManager.default.createSymbolicLink(at: stale.appendingPathComponent("dirlink"), withDestinationURL: parent)
        let staleOtherBoot = try makeFolder(".out.staging-\(otherBoot.token)-00000000")

        // Not ours or not stale: all kept.
        let (sleeper, liveSleeper) = try liveOwner()
        defer { liveSleeper.terminate(); liveSleeper.waitUntilExit() }
        let kept = [
            ".out.staging-\(sleeper.token)-11111111",             // a live run
            ".out.staging-\(dead.token)-22222222",                // locked: a live run in another pid namespace
            ".out.staging-6F9619FF-8B86-D011-B42D-00C04FC964FF",  // an older version's name
            ".other.staging-\(dead.token)-33333333",              // another output's
            ".out.staging-\(dead.token)-4444",                    // not the pattern
            ".out.staging-\(dead.token)-5555555X",
            ".out.staging-x\(dead.token)-66666666",
            "out.staging-\(dead.token)-77777777",
        ]
        for name in kept { _ = try makeFolder(name) }
        let locked = open(parent.appendingPathComponent(kept[1]).path, O_RDONLY | O_DIRECTORY)
        XCTAssertEqual(flock(locked, LOCK_EX | LOCK_NB), 0)
        defer { close(locked) }
        let fileNamedLikeOne = parent.appendingPathComponent(".out.staging-\(dead.token)-88888888")
        try Data("a file".utf8).write(to: fileNamedLikeOne)
        let linkNamedLikeOne = parent.appendingPathComponent(".out.staging-\(dead.token)-99999999")
        let linkedFolder = try makeFolder("linked")
        try FileManager.default.createSymbolicLink(at: linkNamedLikeOne, withDestinationURL: linkedFolder)

        var notices: [String] = []
        let run = try RunOutput(folder: out) { notices.append($0) }
        XCTAssertEqual(notices.count, 2, "\(notices)")
        XCTAssertTrue(notices.contains { $0.hasPrefix("removed \(stale.path): the staging folder of run \(dead.pid)") },
                      "\(notices)")
        XCTAssertTrue(notices.contains { $0.hasPrefix("removed \(staleOtherBoot.path)") }, "\(notices)")
        run.discard()

        let expected = (kept + [fileNamedLikeOne.lastPathComponent, linkNamedLikeOne.lastPathComponent,
                                "linked", "out", "precious"]).sorted()
        XCTAssertEqual(try contents(parent), expected)
        XCTAssertEqual(try String(contentsOf: keptOutside), "keep")
        XCTAssertEqual(try contents(linkedFolder), ["picture.png"])
    }

    /// `explain --save-relevance FILE` stages FILE in a folder of its own
    /// beside it: a killed run's is removed by the next run for that file.
    func testStaleExternalStagingIsRemovedWithItsDestination() throws {
        let destination = parent.appendingPathComponent("rel/relevance.safetensors")
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        let stale = destination.deletingLastPathComponent()
            .appendingPathComponent(".relevance.safetensors.staging-\(try deadOwner().token)-abcdef01")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        var notices: [String] = []
        let run = try RunOutput(folder: out) { notices.append($0) }
        let staged = try run.stagedURL(external: destination)
        XCTAssertEqual(notices.count, 1)
        XCTAssertTrue(notices[0].hasPrefix("removed \(stale.path)"), "\(notices)")
        try AtomicFile.write(Data("r".utf8), to: staged)
        try run.commit()
        XCTAssertEqual(try contents(destination.deletingLastPathComponent()), ["relevance.safetensors"])
        XCTAssertEqual(try contents(parent), ["out", "rel"])
    }

    /// A file written straight into `--out` (GAE's journal) by a writer
    /// killed mid-write leaves its temporary; the next run for that `--out`
    /// removes it, by the staging folders' rules: only regular files of this
    /// pattern whose writers are gone and whose locks are free.
    func testOnlyStaleTemporariesOfDeadWritersAreRemoved() throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let dead = try deadOwner()
        let stale = out.appendingPathComponent(".journal.gae.\(dead.token)-0a1b2c3d.tmp")
        try Data("{\"torn".utf8).write(to: stale)
        let (sleeper, liveSleeper) = try liveOwner()
        defer { liveSleeper.terminate(); liveSleeper.waitUntilExit() }
        let keptFiles = [
            ".journal.gae.\(sleeper.token)-11111111.tmp",               // a live writer
            ".results.json.\(dead.token)-22222222.tmp",                 // locked: a live writer in another pid namespace
            ".results.json.6F9619FF-8B86-D011-B42D-00C04FC964FF.tmp",  // an older version's name
            "results.json.\(dead.token)-33333333.tmp",                  // not hidden
            ".results.json.\(dead.token)-3333333.tmp",                  // not the pattern
        ]
        for name in keptFiles { try Data("x".utf8).write(to: out.appendingPathComponent(name)) }
        let locked = open(out.appendingPathComponent(keptFiles[1]).path, O_RDONLY)
        XCTAssertEqual(flock(locked, LOCK_EX | LOCK_NB), 0)
        defer { close(locked) }
        let folderNamedLikeOne = ".a.\(dead.token)-44444444.tmp", linkNamedLikeOne = ".b.\(dead.token)-55555555.tmp"
        try FileManager.default.createDirectory(at: out.appendingPathComponent(folderNamedLikeOne), withIntermediateDirectories: true)
        let precious = parent.appendingPathComponent("precious")
        try Data("keep".utf8).write(to: precious)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent(linkNamedLikeOne), withDestinationURL: precious)
        // this process writing: its temporary carries its own tag and is kept
        let writing = try AtomicFile(destination: out.appendingPathComponent("index.html"))
        let own = try contents(out).filter { $0.hasPrefix(".index.html.\(RunOwner.current.token)-") && $0.hasSuffix(".tmp") }
        XCTAssertEqual(own.count, 1, "\(own)")

        var notices: [String] = []
        let run = try RunOutput(folder: out) { notices.append($0) }
        XCTAssertEqual(notices, ["removed \(stale.path): a temporary file of run \(dead.pid), which is no longer running "
                                 + "(killed while writing it)"])
        run.discard()
        writing.discard()
        XCTAssertEqual(try contents(out), (keptFiles + [folderNamedLikeOne, linkNamedLikeOne]).sorted())
        XCTAssertEqual(try String(contentsOf: precious), "keep")
    }
}

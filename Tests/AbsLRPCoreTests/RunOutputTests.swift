import Foundation
import XCTest
@testable import AbsLRPCore
import TestFixtures

/// Whole-run outputs: a run's files appear together on commit or not at all,
/// beside (or over) an earlier run's, through the one atomic-write helper.
final class RunOutputTests: TemporaryFolderTestCase {
    func testCommitReplacesItsOwnFilesAndKeepsOthers() throws {
        let first = try RunOutput(folder: out)
        try first.write(Data("a1".utf8), as: "a.txt")
        try first.write(Data("keep".utf8), as: "sub/b.txt")
        XCTAssertEqual(try contents(out), [], "nothing appears before commit")
        XCTAssertEqual(try first.commit().map(\.lastPathComponent), ["a.txt", "b.txt"])

        let second = try RunOutput(folder: out)
        try second.write(Data("a2".utf8), as: "a.txt")
        try second.write(Data("c".utf8), as: "c.txt")
        try second.commit()
        XCTAssertEqual(try contents(out), ["a.txt", "c.txt", "sub"])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("a.txt")), "a2")
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("sub/b.txt")), "keep")
        XCTAssertEqual(try contents(parent), ["out"], "no staging folder left")
    }

    func testDiscardedOrDroppedRunLeavesPreviousOutputsUntouched() throws {
        try AtomicFile.write(Data("old".utf8), to: try { () -> URL in
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            return out.appendingPathComponent("a.txt")
        }())
        let external = parent.appendingPathComponent("elsewhere/relevance.bin")
        do {
            let run = try RunOutput(folder: out)
            try run.write(Data("new".utf8), as: "a.txt")
            try AtomicFile.write(Data("r".utf8), to: try run.stagedURL(external: external))
            // The run fails here: `run` is dropped without commit.
        }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("a.txt")), "old")
        XCTAssertEqual(try contents(parent), ["elsewhere", "out"])
        XCTAssertEqual(try contents(parent.appendingPathComponent("elsewhere")), [])
    }

    func testExternalFileIsMovedByTheSameCommit() throws {
        let run = try RunOutput(folder: out)
        let external = parent.appendingPathComponent("rel/relevance.bin")
        let staged = try run.stagedURL(external: external)
        try AtomicFile.write(Data("r".utf8), to: staged)
        XCTAssertEqual(run.destination(of: staged), external.standardizedFileURL)
        XCTAssertFalse(FileManager.default.fileExists(atPath: external.path))
        try run.commit()
        XCTAssertEqual(try String(contentsOf: external), "r")
        XCTAssertEqual(try contents(external.deletingLastPathComponent()), ["relevance.bin"])
    }

    func testUnwritableFolderFailsAtOnce() throws {
        let blocker = parent.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try RunOutput(folder: blocker.appendingPathComponent("out"))) { error in
            guard case .unwritableFolder? = error as? OutputError else { return XCTFail("\(error)") }
        }
    }

    /// Names up to the file system's 255 bytes work as `--out` and as file
    /// names: the hidden staging folder and temporary file cut them.
    func testLongNamesStillLeaveRoomForTheHiddenNames() throws {
        let long = parent.appendingPathComponent(String(repeating: "z", count: 250))
        let run = try RunOutput(folder: long)
        XCTAssertLessThanOrEqual(run.staging.lastPathComponent.utf8.count, 255)
        let accented = String(repeating: "é", count: 120) + ".png"  // 244 bytes of UTF-8
        try run.write(Data("x".utf8), as: accented)
        try run.commit()
        XCTAssertEqual(try contents(long), [accented])
        XCTAssertEqual(try contents(parent), [long.lastPathComponent])
        XCTAssertEqual(HiddenName.beside(String(repeating: "é", count: 100), suffix: "tmp"),
                       "." + String(repeating: "é", count: 90) + ".tmp", "cut at whole characters")
    }

    /// `--out` a link to a folder on another file system (here /dev/shm):
    /// the staging folder is made beside the real folder, so the final
    /// renames stay on one file system (they failed with EXDEV after the
    /// whole run); a mount point stages inside itself.
    func testOutputLinkedToAnotherFileSystemCommits() throws {
        let shm = URL(fileURLWithPath: "/dev/shm")
        var a = stat(), b = stat(), root = stat()
        guard stat(shm.path, &a) == 0, stat(parent.path, &b) == 0, a.st_dev != b.st_dev,
              stat("/dev", &root) == 0, root.st_dev != a.st_dev else {
            throw XCTSkip("needs /dev/shm as a file system of its own")
        }
        let real = shm.appendingPathComponent("abslrp-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: real) }
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: out, withDestinationURL: real)
        let run = try RunOutput(folder: out)
        XCTAssertEqual(run.staging.deletingLastPathComponent().path, shm.path)
        try run.write(Data("x".utf8), as: "sub/a.txt")
        try run.commit()
        XCTAssertEqual(try String(contentsOf: real.appendingPathComponent("sub/a.txt")), "x")
        XCTAssertEqual(try contents(parent), ["out"])
        XCTAssertEqual(RunOutput.stagingTarget(for: shm), shm.appendingPathComponent("shm"), "a mount point stages inside")
    }

    func testAtomicFileDiscardLeavesNothing() throws {
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let file = try AtomicFile(destination: out.appendingPathComponent("x.bin"))
        try file.append(Data([1, 2, 3]))
        file.discard()
        XCTAssertEqual(try contents(out), [])
    }

    /// A bad image in the second batch of `explain`: the first batch's
    /// pictures are not left behind, and an earlier run's picture stays.
    func testExplainWithABadImageInALaterBatchWritesNothing() throws {
        let classifier = try GoldenModel("vgg_mini").classifier
        let images = parent.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let good = images.appendingPathComponent("good.png"), bad = images.appendingPathComponent("bad.png")
        try FileManager.default.copyItem(at: Fixtures.url("images/rgb_77x53.png"), to: good)
        try Data(try Data(contentsOf: good).prefix(60)).write(to: bad)
        let job = ExplainJob(source: .images([good, bad]), method: AbsLRP(classifier: classifier), batchSize: 1,
                             outputDirectory: out, relevanceFile: parent.appendingPathComponent("rel.safetensors"))
        let first = try ExplainJob(source: .images([good]), method: AbsLRP(classifier: classifier), outputDirectory: out).run()
        let picture = try XCTUnwrap(first[0].picture)
        let before = try Data(contentsOf: picture), earlier = try contents(out)
        XCTAssertTrue(earlier.contains(picture.lastPathComponent), "\(earlier)")
        XCTAssertThrowsError(try job.run()) { error in
            XCTAssertTrue("\(error)".contains(bad.path), "\(error)")
        }
        XCTAssertEqual(try contents(out), earlier)
        XCTAssertEqual(try Data(contentsOf: picture), before)
        XCTAssertEqual(try contents(parent), ["images", "out"], "no relevance file, no staging folder")
    }
}

import AbsLRPCore
import ArgumentParser
import Foundation
import XCTest
@testable import AbsLRPCommands

/// Every file and folder a command reads or writes, given something it
/// cannot be: a device (`/dev/zero`, which never ends), a FIFO (which blocks
/// whoever opens it), a folder where a file belongs, or an empty path. Each
/// run goes in process (`parseAsRoot`, then `run()`) and must end at once
/// with a message that says what the path is; nothing is written.
final class PathArgumentTests: XCTestCase {
    private var folder: URL!
    private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    private var image: String { repository.appendingPathComponent("Samples/07_sneaker.png").path }
    private var weights: String { repository.appendingPathComponent("Weights/vit_fmnist.safetensors").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("a-folder"), withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("a-fifo").path, 0o600), 0)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Runs `arguments` in process; expects an error whose message contains `expected`.
    private func assertFails(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            var command = try AbsLRPTool.parseAsRoot(arguments)
            try command.run()
            XCTFail("\(arguments.joined(separator: " ")) succeeded", file: file, line: line)
        } catch {
            let message = AbsLRPTool.message(for: error)
            XCTAssertTrue(message.contains(expected), "\(arguments.joined(separator: " ")): \(message)", file: file, line: line)
        }
    }

    /// The paths that are not regular files, with what the message must say.
    private var notFiles: [(path: String, reason: String)] {
        [("/dev/zero", "it is a character device, not a regular file"),
         (folder.appendingPathComponent("a-fifo").path, "it is a FIFO, not a regular file"),
         (folder.appendingPathComponent("a-folder").path, "it is a directory, not a file")]
    }

    func testWeightsConfigurationAndTensorFilesMustBeRegularFiles() {
        for (path, reason) in notFiles {
            assertFails(["explain", image, "--weights", path], "cannot read safetensors file \(path): \(reason)")
            assertFails(["explain", image, "--weights", weights, "--config", path], "cannot read model configuration \(path): \(reason)")
            assertFails(["explain", "--tensor", path], "cannot read safetensors file \(path): \(reason)")
            assertFails(["inspect", path], "cannot read safetensors file \(path): \(reason)")
            assertFails(["inspect", weights, "--config", path], "cannot read model configuration \(path): \(reason)")
            assertFails(["bench", "--model", "vit_fmnist", "--tensor", path], "cannot read safetensors file \(path): \(reason)")
        }
        for (path, reason) in notFiles.prefix(2) { assertFails(["merge", path], "cannot read GAE results \(path): \(reason)") }
        let shard = notFiles[2].path  // a folder is a shard's folder: its results.json
        assertFails(["merge", shard], "cannot read GAE results \(shard)/results.json: no such file")
    }

    /// An image is opened by the C decoder, which refuses the same way; a folder is a folder of images.
    func testImagesMustBeRegularFiles() {
        for (path, _) in notFiles.prefix(2) {
            assertFails(["explain", image, path, "--method", "random", "--out", folder.appendingPathComponent("out").path],
                        "Cannot read image \(path): not a regular file")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path + "/index.html"))
    }

    /// A data set that is a device or a FIFO, also under a data-set name
    /// (`x.csv`, `x.safetensors`, `x-images-idx3-ubyte` linking to one), and
    /// an IDX data set whose labels file is a folder or a device.
    func testDataSetsAndLabelFilesMustBeRegularFiles() throws {
        let fm = FileManager.default
        for (path, reason) in notFiles.prefix(2) {
            assertFails(["evaluate", "--dataset", path], "cannot use data set \(path): \(reason)")
            for name in ["x.csv", "x.safetensors", "x-images-idx3-ubyte"] {
                let link = folder.appendingPathComponent(name).path
                try? fm.removeItem(atPath: link)
                try fm.createSymbolicLink(atPath: link, withDestinationPath: path)
                assertFails(["evaluate", "--dataset", link], "cannot use data set \(link): \(reason)")
            }
        }
        let images = folder.appendingPathComponent("t-images-idx3-ubyte")
        try Data([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0]).write(to: images)
        let labels = folder.appendingPathComponent("t-labels-idx1-ubyte").path
        for (target, reason) in [notFiles[0], notFiles[2]] {
            try? fm.removeItem(atPath: labels)
            try fm.createSymbolicLink(atPath: labels, withDestinationPath: target)
            assertFails(["evaluate", "--dataset", images.path], "cannot use data set \(labels): cannot read it: \(reason)")
        }
    }

    /// `--save-relevance` naming a folder is refused before anything runs (it failed at the very end).
    func testRelevanceFileThatIsAFolderIsRefusedFirst() {
        let out = folder.appendingPathComponent("out")
        let relevance = folder.appendingPathComponent("a-folder").path
        assertFails(["explain", image, "--method", "random", "--out", out.path, "--save-relevance", relevance],
                    "cannot write \(relevance): it is a folder; name a file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "no picture committed")
    }

    /// An empty path would be the current folder: refused for every path
    /// option and argument of every command, before anything runs.
    func testEmptyPathsAreRefused() {
        let cases: [([String], String)] = [
            (["explain", "x.png", "--out", ""], "--out"), (["explain", "x.png", "--save-relevance", ""], "--save-relevance"),
            (["explain", ""], "an image argument"), (["explain", "--tensor", ""], "--tensor"),
            (["explain", "x.png", "--weights", ""], "--weights"), (["explain", "x.png", "--config", ""], "--config"),
            (["check", "x.png", "--out", ""], "--out"), (["check", "", "x.png"], "an image argument"),
            (["check", "x.png", "--weights", ""], "--weights"),
            (["evaluate", "--out", ""], "--out"), (["evaluate", "--dataset", ""], "--dataset"),
            (["evaluate", "--config", ""], "--config"),
            (["merge", "a.json", "--out", ""], "--out"), (["merge", "a.json", ""], "a results argument"),
            (["inspect", ""], "the file argument"), (["inspect", "m.safetensors", "--config", ""], "--config"),
            (["bench", "--weights", ""], "--weights"), (["bench", "--tensor", ""], "--tensor"),
        ]
        for (arguments, option) in cases {
            XCTAssertThrowsError(try AbsLRPTool.parseAsRoot(arguments), "\(arguments)") { error in
                XCTAssertEqual(AbsLRPTool.message(for: error),
                               "\(option) is empty: give a path (an empty one would mean the current folder)", "\(arguments)")
            }
        }
    }
}

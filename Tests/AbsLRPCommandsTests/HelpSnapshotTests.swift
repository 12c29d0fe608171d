import ArgumentParser
import Foundation
import XCTest
@testable import AbsLRPCommands

/// The `--help` of every command against its snapshot in `Snapshots/`
/// (as swift-argument-parser's example tests pin theirs). After an
/// intended change, run with `ABSLRP_RECORD_SNAPSHOTS=1` to rewrite them and
/// review the diff.
final class HelpSnapshotTests: XCTestCase {
    static let commands: [(String, ParsableCommand.Type)] = [
        ("abslrp", AbsLRPTool.self), ("explain", ExplainCommand.self), ("evaluate", EvaluateCommand.self),
        ("merge", MergeCommand.self), ("models", ModelsCommand.self), ("inspect", InspectCommand.self),
        ("bench", BenchCommand.self), ("check", CheckCommand.self),
    ]

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    func testEveryHelpMatchesItsSnapshot() throws {
        let record = ProcessInfo.processInfo.environment["ABSLRP_RECORD_SNAPSHOTS"] == "1"
        for (name, command) in Self.commands {
            let help = AbsLRPTool.helpMessage(for: command, columns: 100)
            let url = Self.folder.appendingPathComponent("\(name).help.txt")
            if record {
                try help.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            let snapshot = try String(contentsOf: url, encoding: .utf8)
            XCTAssertEqual(help, snapshot, "\(name) --help differs from Snapshots/\(name).help.txt")
        }
    }
}

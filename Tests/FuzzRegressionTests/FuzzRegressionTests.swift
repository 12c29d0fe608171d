import Foundation
import XCTest
import FuzzTargets

/// Every input that ever crashed a parser (`Tests/Fixtures/fuzz-regressions/
/// TARGET/`), and the seed inputs (`Tests/Fixtures/fuzz-seeds/TARGET/`), fed
/// to the fuzz targets' entry points: each must end in success or a thrown
/// error. A trap takes this test process down, which fails the run.
final class FuzzRegressionTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    private func files(_ folder: String, _ target: FuzzTarget) throws -> [URL] {
        let url = Self.fixtures.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    /// Each regression input is refused (none of them is a valid file).
    func testEveryInputThatOnceCrashedIsRefused() throws {
        var count = 0
        for target in FuzzTarget.allCases {
            for file in try files("fuzz-regressions", target) {
                XCTAssertNotNil(target.run(try Data(contentsOf: file)), "\(target): \(file.lastPathComponent) accepted")
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 0)
    }

    /// A replay (`abslrp-fuzz TARGET FILE...`, built beside the test bundle)
    /// leaves no scratch folder behind: neither in the folder
    /// `$ABSLRP_FUZZ_SCRATCH` names (`scripts/fuzz.sh`'s) nor in `/dev/shm`.
    func testAReplayRemovesItsScratchFolder() throws {
        let executable = Bundle.main.bundleURL.appendingPathComponent("abslrp-fuzz")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            return XCTFail("\(executable.path) is missing: build it with `swift build --build-tests`")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-scratch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for environment in [["ABSLRP_FUZZ_SCRATCH": scratch.path], [:]] {
            for target in [FuzzTarget.csv, .safetensors] {
                let process = Process()
                process.executableURL = executable
                process.arguments = [target.rawValue] + (try files("fuzz-seeds", target)).prefix(3).map(\.path)
                process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "ABSLRP_FUZZ_SCRATCH" }
                    .merging(environment) { $1 }
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                process.waitUntilExit()
                XCTAssertEqual(process.terminationStatus, 0, "\(target)")
                let folder = URL(fileURLWithPath: environment["ABSLRP_FUZZ_SCRATCH"] ?? "/dev/shm")
                    .appendingPathComponent("abslrp-fuzz-\(process.processIdentifier)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path), "\(folder.path) left behind")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    /// The seeds run to an outcome (most are valid files).
    func testSeedsRun() throws {
        for target in FuzzTarget.allCases {
            let seeds = try files("fuzz-seeds", target)
            XCTAssertFalse(seeds.isEmpty, "\(target) has no seeds")
            for file in seeds { target.run(try Data(contentsOf: file)) }
        }
    }
}

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

    /// The seeds run to an outcome (most are valid files).
    func testSeedsRun() throws {
        for target in FuzzTarget.allCases {
            let seeds = try files("fuzz-seeds", target)
            XCTAssertFalse(seeds.isEmpty, "\(target) has no seeds")
            for file in seeds { target.run(try Data(contentsOf: file)) }
        }
    }
}

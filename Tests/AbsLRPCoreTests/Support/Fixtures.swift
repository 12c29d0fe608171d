import Foundation

/// Paths of the golden files in `Tests/Fixtures` (copied from the reference
/// implementation's outputs; see `Tests/Fixtures/README.md`).
enum Fixtures {
    /// `Tests/Fixtures`, found from this source file so tests need no bundle.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // Support
        .deletingLastPathComponent()   // AbsLRPCoreTests
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// A fresh empty temporary directory, removed at process exit is not
    /// guaranteed; tests clean up what they make.
    static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

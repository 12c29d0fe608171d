import Foundation

/// Paths of the golden files in `Tests/Fixtures` (made by the peers that
/// define the behaviour; see `Tests/Fixtures/README.md`) and fresh temporary
/// folders, for every test target.
public enum Fixtures {
    /// `Tests/Fixtures`, found from this source file so tests need no bundle.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // TestFixtures
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// A fresh empty temporary folder; the test removes it.
    public static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

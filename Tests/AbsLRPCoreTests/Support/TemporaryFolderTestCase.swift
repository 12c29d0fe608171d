import Foundation
import XCTest
import TestFixtures

/// A test case that works in a fresh temporary folder (`parent`), made
/// before each test and removed after it, with `out` inside it as the
/// output folder of the runs under test.
class TemporaryFolderTestCase: XCTestCase {
    /// The test's own temporary folder.
    var parent: URL!
    /// `parent/out`, not created.
    var out: URL { parent.appendingPathComponent("out") }

    override func setUpWithError() throws { parent = Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: parent) }

    /// The names in folder `url`, sorted.
    func contents(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }
}

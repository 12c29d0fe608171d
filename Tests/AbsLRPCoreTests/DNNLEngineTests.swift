import XCTest
@testable import AbsLRPCore

/// `DNNLEngine`: the library loads, and oneDNN calls inside `concurrently`
/// take one OpenMP thread each, the others every core.
final class DNNLEngineTests: XCTestCase {
    func testEngineOfTheInstalledLibrary() {
        XCTAssertTrue(DNNLEngine.version.hasPrefix("2."), DNNLEngine.version)
        _ = DNNLEngine.engine
    }

    func testOneThreadPerConcurrentBody() {
        XCTAssertEqual(DNNLEngine.threadsForCaller, parallelWidth)
        let (a, b) = concurrently({ DNNLEngine.threadsForCaller }, { DNNLEngine.threadsForCaller })
        if parallelWidth >= 2 { XCTAssertEqual([a, b], [1, 1]) }
    }
}

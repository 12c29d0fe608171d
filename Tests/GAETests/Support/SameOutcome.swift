import GAE
import XCTest

/// Fails unless two reports hold the same run: settings, batches, results,
/// summary and images, compared exactly; only the seconds may differ.
func assertSameOutcome(_ a: GAEReport, _ b: GAEReport, _ message: String = "",
                       file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.settings, b.settings, "settings \(message)", file: file, line: line)
    XCTAssertEqual(a.batches, b.batches, "batches \(message)", file: file, line: line)
    XCTAssertEqual(a.results, b.results, "results \(message)", file: file, line: line)
    XCTAssertEqual(a.summary, b.summary, "summary \(message)", file: file, line: line)
    XCTAssertEqual(a.throughput.images, b.throughput.images, "images \(message)", file: file, line: line)
}

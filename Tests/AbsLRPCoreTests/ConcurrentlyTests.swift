import XCTest
@testable import AbsLRPCore

/// `concurrently`: both results, single-threaded work inside, state restored.
final class ConcurrentlyTests: XCTestCase {
    func testReturnsBothResultsWithSingleThreadedWorkInside() {
        let threads = blasThreadCount
        let (a, b) = concurrently({ (ConcurrentWork.isInside, blasThreadCount, (0..<1000).reduce(0, +)) },
                                  { (ConcurrentWork.isInside, blasThreadCount, "second") })
        XCTAssertEqual(a.2, 499500)
        XCTAssertEqual(b.2, "second")
        if parallelWidth >= 2 {
            XCTAssertTrue(a.0 && b.0)
            XCTAssertEqual([a.1, b.1], [1, 1])
        }
        XCTAssertFalse(ConcurrentWork.isInside)
        XCTAssertEqual(blasThreadCount, threads)
    }

    /// A product inside each body equals the same product outside.
    func testProductsInsideEqualProductsOutside() {
        var rng = SplitMix64(seed: 11)
        let (m, n, k) = (67, 45, 129)
        let a = (0..<(m * k)).map { _ in rng.nextNormal() }, b = (0..<(k * n)).map { _ in rng.nextNormal() }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                sgemm(m: m, n: n, k: k, a: ap.baseAddress!, b: bp.baseAddress!, c: cp.baseAddress!)
            } } }
            return c
        }
        // naive loop reference
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s: Float = 0; for p in 0..<k { s += a[i * k + p] * b[p * n + j] }; expected[i * n + j] = s } }
        let (x, y) = concurrently(product, product)
        for (got, want) in zip(x + y, expected + expected) { XCTAssertEqual(got, want, accuracy: 1e-3) }
    }
}

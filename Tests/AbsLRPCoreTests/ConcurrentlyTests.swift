import XCTest
@testable import AbsLRPCore

/// `concurrently` and `forEachBatchPart`: all results, single-threaded work
/// inside, state restored, the same values wherever they run.
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

    /// The parts cover the batch once, in order, each on its own single-threaded
    /// core (one part, on the calling thread, for a batch of 1).
    func testBatchPartsCoverTheBatchWithSingleThreadedWorkInside() {
        let threads = blasThreadCount
        for count in 1...5 {
            let parts = PartLog()
            forEachBatchPart(count) { range in parts.append(range, blasThreadCount, ConcurrentWork.isInside) }
            let ranges = parts.entries.map(\.range).sorted { $0.lowerBound < $1.lowerBound }
            XCTAssertEqual(ranges.count, min(parallelWidth, count), "batch \(count)")
            XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<count), "batch \(count)")
            if ranges.count > 1 { XCTAssertTrue(parts.entries.allSatisfy { $0.threads == 1 && $0.inside }, "batch \(count)") }
        }
        XCTAssertFalse(ConcurrentWork.isInside)
        XCTAssertEqual(blasThreadCount, threads)
    }

    /// A convolution of a batch (its images in parts on the cores) gives the
    /// same values, bit for bit, inside a `concurrently` body (parts one after
    /// the other), so an inference forward equals a recorded one wherever it runs.
    func testConvolutionOfABatchIsTheSameInsideConcurrentWork() {
        let conv = Conv2d(name: "c", inChannels: 5, outChannels: 7, kernelSize: 3, padding: 1)
        conv.setParameter("weight", randomTensor([7, 5, 3, 3], seed: 21))
        conv.setParameter("bias", randomTensor([7], seed: 22))
        let pointwise = Conv2d(name: "p", inChannels: 5, outChannels: 6, kernelSize: 1, bias: false)
        pointwise.setParameter("weight", randomTensor([6, 5, 1, 1], seed: 23))
        let x = randomTensor([3, 5, 9, 10], seed: 24)
        for layer in [conv, pointwise] {
            let outside = layer.apply(x)
            let (first, second) = concurrently({ layer.apply(x) }, { layer.apply(x) })
            XCTAssertEqual(first, outside, layer.name)
            XCTAssertEqual(second, outside, layer.name)
        }
    }
}

/// The ranges `forEachBatchPart` handed out, with the BLAS threads and
/// `ConcurrentWork.isInside` seen inside each.
private final class PartLog: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var entries: [(range: Range<Int>, threads: Int, inside: Bool)] = []
    func append(_ range: Range<Int>, _ threads: Int, _ inside: Bool) {
        lock.withLock { entries.append((range, threads, inside)) }
    }
}

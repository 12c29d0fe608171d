import AbsLRPCore
import XCTest
@testable import GAE

/// The masking's top-k picks the same entries as `torch.topk` on the CPU,
/// ties included. Expected sets come from GNU libstdc++'s `std::nth_element`
/// / `std::partial_sort` run exactly as torch's `topk_impl_loop` calls them
/// (g++ 13), on tie-heavy values `((i * 7919) % mod) / 4`.
final class TopKSelectionTests: XCTestCase {
    private struct Case {
        let n, mod, k: Int
        let largest: Bool
        let sum, squares: Int
        var indices: [Int]? = nil
    }

    private let cases: [Case] = [
        Case(n: 40, mod: 5, k: 13, largest: true, sum: 228, squares: 5638,
             indices: [1, 2, 6, 7, 11, 16, 17, 21, 22, 26, 31, 32, 36]),
        Case(n: 40, mod: 5, k: 13, largest: false, sum: 270, squares: 7310,
             indices: [0, 5, 10, 14, 15, 19, 20, 24, 25, 30, 34, 35, 39]),
        Case(n: 40, mod: 3, k: 30, largest: false, sum: 578, squares: 15430),
        Case(n: 1000, mod: 7, k: 300, largest: true, sum: 150362, squares: 100110344),
        Case(n: 1000, mod: 7, k: 300, largest: false, sum: 149679, squares: 98758673),
        Case(n: 1000, mod: 2, k: 900, largest: true, sum: 450974, squares: 304457248),
        Case(n: 12288, mod: 11, k: 4915, largest: false, sum: 30208723, squares: 248079946459),
        Case(n: 12288, mod: 3, k: 6144, largest: true, sum: 44039168, squares: 386540762112),
        // k * 64 <= n: torch uses std::partial_sort (heap select).
        Case(n: 1000, mod: 5, k: 10, largest: true, sum: 235, squares: 7585),
        Case(n: 5000, mod: 4, k: 50, largest: false, sum: 4900, squares: 646800),
    ]

    func testTiesFallAsInTorch() {
        for c in cases {
            let values = (0..<c.n).map { Float(($0 * 7919) % c.mod) / 4 }
            let selected = values.withUnsafeBufferPointer { TopKSelection.select($0, k: c.k, largest: c.largest) }.sorted()
            let label = "n \(c.n) mod \(c.mod) k \(c.k) largest \(c.largest)"
            XCTAssertEqual(selected.count, c.k, label)
            XCTAssertEqual(selected.reduce(0, +), c.sum, label)
            XCTAssertEqual(selected.reduce(0) { $0 + $1 * $1 }, c.squares, label)
            if let indices = c.indices { XCTAssertEqual(selected, indices, label) }
        }
    }

    func testDistinctValuesGiveTheExtremes() {
        var rng = SplitMix64(seed: 3)
        let values = (0..<500).map { _ in rng.nextUniform() }
        let order = values.indices.sorted { values[$0] < values[$1] }
        for k in [0, 1, 7, 100, 499, 500] {
            let smallest = values.withUnsafeBufferPointer { TopKSelection.select($0, k: k, largest: false) }
            let largest = values.withUnsafeBufferPointer { TopKSelection.select($0, k: k, largest: true) }
            XCTAssertEqual(Set(smallest), Set(order.prefix(k)), "smallest k = \(k)")
            XCTAssertEqual(Set(largest), Set(order.suffix(k)), "largest k = \(k)")
        }
    }
}

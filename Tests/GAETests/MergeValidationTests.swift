import AbsLRPCore
import Foundation
import XCTest
@testable import GAE

/// `merge` takes only shards that together are exactly one run; each way a
/// set of results files can be wrong is refused with the file and the reason.
final class MergeValidationTests: XCTestCase {
    private static let classifier = TinyModel.classifier()
    private static let dataset = TinyModel.dataset(count: 26, labeller: classifier)
    private static func evaluate(_ shard: Shard) throws -> GAEReport {
        try GlobalAttributionEvaluation(classifier: classifier, methods: [AbsLRP(classifier: classifier)],
                                        configuration: GAEConfiguration(batchSize: 8, steps: 3, seed: 2, shard: shard))
            .run(on: dataset)
    }
    /// Shard 0/2 holds batch 0, shard 1/2 batches 1 and 2.
    private static let shards = [try! evaluate(Shard(index: 0, count: 2)), try! evaluate(Shard(index: 1, count: 2))]

    private func assertRefused(_ first: GAEReport, _ second: GAEReport, mentioning part: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try GAEReport.merge([first, second], sources: ["a.json", "b.json"]), file: file, line: line) { error in
            guard let error = error as? GAEError else { return XCTFail("\(error)", file: file, line: line) }
            switch error {
            case .inconsistentResults, .mergeMismatch: break
            default: XCTFail("\(error)", file: file, line: line)
            }
            XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line)
        }
    }

    func testTheTwoShardsMerge() throws {
        let merged = try GAEReport.merge(Self.shards)
        XCTAssertEqual(merged.batches.map(\.batch), [0, 1, 2])
        try merged.validate(source: "merged")
    }

    func testShardWithoutResultsOrBatchesIsRefused() {
        var empty = Self.shards[1]
        empty.results = []
        assertRefused(Self.shards[0], empty, mentioning: "0 results for 2 batches")
        var noBatches = Self.shards[1]
        noBatches.batches = []
        noBatches.results = []
        assertRefused(Self.shards[0], noBatches, mentioning: "must hold batches 1..<3")
    }

    func testDuplicatedRowsAreRefused() {
        var second = Self.shards[1]
        second.results[1] = second.results[0]
        assertRefused(Self.shards[0], second, mentioning: "b.json")
        var batches = Self.shards[1]
        batches.batches[1] = batches.batches[0]
        assertRefused(Self.shards[0], batches, mentioning: "must hold batches")
    }

    func testIndicesOutsideTheDatasetAreRefused() {
        var second = Self.shards[1]
        second.batches[0].indices[0] = 26
        assertRefused(Self.shards[0], second, mentioning: "outside the data set's 0..<26")
        second.batches[0].indices[0] = -1
        assertRefused(Self.shards[0], second, mentioning: "image -1")
    }

    func testAnImageInTwoShardsIsRefused() {
        // Swap one image of shard 1 for one of shard 0; shard 1 is still
        // self-consistent once its results follow.
        let taken = Self.shards[0].batches[0].indices[0]
        var second = Self.shards[1]
        let replaced = second.batches[0].indices[0]
        second.batches[0].indices[0] = taken
        for i in second.results.indices {
            if second.results[i].index == replaced { second.results[i].index = taken }
            second.results[i].mosaic = second.results[i].mosaic.map { $0 == replaced ? taken : $0 }
        }
        assertRefused(Self.shards[0], second, mentioning: "image \(taken) appears in two shards")
    }

    func testInconsistentBatchNumbersAndShardsAreRefused() {
        var renumbered = Self.shards[1]
        renumbered.batches[0].batch = 5
        assertRefused(Self.shards[0], renumbered, mentioning: "lists [5, 2]")
        var negative = Self.shards[1]
        negative.settings.shard = Shard(index: 1, count: -2)
        assertRefused(Self.shards[0], negative, mentioning: "shard 1 of -2 does not exist")
        var huge = Self.shards[1]
        huge.settings.shard = Shard(index: Int.max - 1, count: Int.max)
        assertRefused(Self.shards[0], huge, mentioning: "must hold batches")
    }

    func testScoresOutOfRangeOrNotComputedAsTheRunDoesAreRefused() {
        var range = Self.shards[1]
        range.results[0].faithfulness = 3
        assertRefused(Self.shards[0], range, mentioning: "faithfulness 3.0")
        var product = Self.shards[1]
        product.results[0].gae += 0.5
        assertRefused(Self.shards[0], product, mentioning: "are not")
        var infinite = Self.shards[1]
        infinite.results[0].contrastiveness = .infinity
        assertRefused(Self.shards[0], infinite, mentioning: "not finite")
    }

    func testShardBatchesNearIntMaxDoNotOverflow() {
        let shard = Shard(index: Int.max - 1, count: Int.max)
        XCTAssertEqual(shard.batches(of: Int.max), (Int.max - 1)..<Int.max)
        XCTAssertEqual(Shard(index: 0, count: Int.max).batches(of: 3), 0..<0)
    }
}

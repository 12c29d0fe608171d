import AbsLRPCore
import XCTest
@testable import GAE

/// `GAEConfiguration.estimatedBytes(model:methods:keptExtremes:)`: the
/// model's estimate for a batch plus the images and pictures a run holds at once.
final class GAEMemoryEstimateTests: XCTestCase {
    func testEstimateIsTheModelsBatchEstimatePlusTheHeldImages() {
        let model = TinyModel.classifier().configuration  // 3 x 16 x 16
        let configuration = GAEConfiguration(batchSize: 8, steps: 3)
        let modelBytes = model.architecture.memoryEstimate(height: 16, width: 16).bytes(batch: 8)
        // 8 images, 2 mosaics, 2 orders x 3 steps x 2 mosaics masked inputs, 768 floats each.
        XCTAssertEqual(configuration.estimatedBytes(model: model, methods: 2, keptExtremes: 0), modelBytes + 4 * 768 * (8 + 2 + 12))
    }

    /// The kept pictures (2k per method, 7 bytes a pixel) and one batch's
    /// journal record of them (min(2k, M) per method, 34 bytes a pixel while
    /// written or read back) count; they were left out.
    func testEstimateCountsTheKeptPicturesAndOneJournalRecord() {
        let model = TinyModel.classifier().configuration  // 16 x 16 pixels
        let configuration = GAEConfiguration(batchSize: 8, steps: 3)  // 2 mosaics
        let none = configuration.estimatedBytes(model: model, methods: 3, keptExtremes: 0)
        XCTAssertEqual(configuration.estimatedBytes(model: model, methods: 3, keptExtremes: 4) - none,
                       7 * 256 * 3 * 8 + 34 * 256 * 3 * 2)
        XCTAssertEqual(configuration.estimatedBytes(model: model, methods: 1, keptExtremes: 1) - none,
                       7 * 256 * 1 * 2 + 34 * 256 * 1 * 2)
        XCTAssertEqual(configuration.estimatedBytes(model: model, methods: 3, keptExtremes: Int.max), Int.max, "saturates")
    }

    /// The tiny ResNet's 3x3 backward products run on oneDNN: the estimate
    /// holds 32 MiB of scratchpad per oneDNN call that may run at once.
    func testEstimateCountsTheOneDNNScratchpadOfEachConcurrentCall() {
        let model = TinyModel.classifier().configuration
        let estimate = model.architecture.memoryEstimate(height: 16, width: 16)
        let withoutScratch = MemoryEstimate(parameters: estimate.parameters, activationsPerImage: estimate.activationsPerImage)
        let configuration = GAEConfiguration(batchSize: 8, steps: 3)
        XCTAssertEqual(configuration.estimatedBytes(model: model, methods: 2, keptExtremes: 0)
                           - withoutScratch.bytes(batch: 8) - 4 * 768 * (8 + 2 + 12),
                       (32 << 20) * min(2, parallelWidth))
    }

    func testEstimateGrowsWithBatchAndSteps() {
        let model = TinyModel.classifier().configuration
        func estimate(_ batch: Int, _ steps: Int) -> Int {
            GAEConfiguration(batchSize: batch, steps: steps).estimatedBytes(model: model, methods: 2, keptExtremes: 4)
        }
        XCTAssertGreaterThan(estimate(16, 3), estimate(8, 3))
        XCTAssertGreaterThan(estimate(8, 10), estimate(8, 3))
    }
}

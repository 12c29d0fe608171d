import AbsLRPCore
import XCTest
@testable import GAE

/// `GAEConfiguration.estimatedBytes(model:)`: the model's estimate for a
/// batch plus the images a run holds at once.
final class GAEMemoryEstimateTests: XCTestCase {
    func testEstimateIsTheModelsBatchEstimatePlusTheHeldImages() {
        let model = TinyModel.classifier().configuration  // 3 x 16 x 16
        let configuration = GAEConfiguration(batchSize: 8, steps: 3)
        let modelBytes = model.architecture.memoryEstimate(height: 16, width: 16).bytes(batch: 8)
        // 8 images, 2 mosaics, 2 orders x 3 steps x 2 mosaics masked inputs, 768 floats each.
        XCTAssertEqual(configuration.estimatedBytes(model: model), modelBytes + 4 * 768 * (8 + 2 + 12))
    }

    func testEstimateGrowsWithBatchAndSteps() {
        let model = TinyModel.classifier().configuration
        let base = GAEConfiguration(batchSize: 8, steps: 3).estimatedBytes(model: model)
        XCTAssertGreaterThan(GAEConfiguration(batchSize: 16, steps: 3).estimatedBytes(model: model), base)
        XCTAssertGreaterThan(GAEConfiguration(batchSize: 8, steps: 10).estimatedBytes(model: model), base)
    }
}

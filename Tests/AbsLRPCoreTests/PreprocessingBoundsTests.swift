import XCTest
import AbsLRPCore

/// timm's resize keeps the aspect ratio, so a thin image grows with it before
/// the crop: the resized size is bounded by the pixel limit, like decoding.
final class PreprocessingBoundsTests: XCTestCase {
    func testExtremeAspectRatioIsRefusedBeforeResizing() throws {
        let statistics: [Float] = [0.5, 0.5, 0.5]
        let timm = PreprocessingConfig(timm: TimmEvalTransform(DataConfiguration(inputSize: [3, 32, 32]), mean: statistics),
                                       mean: statistics, std: statistics)
        let thin = RGBImage(width: 1, height: 30_000, filledWith: (1, 2, 3))
        // 36 x 1,080,000 before the 32x32 crop.
        XCTAssertThrowsError(try timm.preprocessed(thin, maxPixels: 1_000_000, source: "thin.png")) { error in
            XCTAssertEqual(error as? ImageDecodeError,
                           .resizeTooLarge(path: "thin.png", width: 36, height: 1_080_000, limit: 1_000_000))
        }
        let square = RGBImage(width: 40, height: 40, filledWith: (1, 2, 3))
        XCTAssertEqual(try timm.preprocessed(square, maxPixels: 1_000_000, source: "square.png"), timm.preprocess(square))
        let reference = PreprocessingConfig(resizeSize: .init(36), cropSize: .init(32), mean: statistics, std: statistics)
        XCTAssertEqual(try reference.preprocessed(thin, maxPixels: 1_000_000, source: "thin.png").shape, [3, 32, 32])
    }
}

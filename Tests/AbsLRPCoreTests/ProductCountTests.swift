import XCTest
@testable import AbsLRPCore

/// `Classifier.absLRPProductCount`, the honest limit of `abslrp bench`,
/// against the products counted by hand for a tiny ViT.
final class ProductCountTests: XCTestCase {
    /// TinyModels.vit: 16x16 images, 4x4 patches (16 patches + class token = 17
    /// tokens), width 12, 3 heads of 4, MLP 24, 2 blocks, 5 classes.
    func testVisionTransformerCountsEveryProductOfTheReferencesRule() {
        let classifier = TinyModels.vit()
        let (_, tape) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 1))
        let count = classifier.absLRPProductCount(tape, images: 1)
        let (tokens, width, heads, headDim, hidden) = (17, 12, 3, 4, 24)
        // multiply-adds of each forward product
        let patchEmbedding = Double(width * 16 * 48)
        let qkv = Double(tokens * 3 * width * width), proj = Double(tokens * width * width)
        let fc1 = Double(tokens * hidden * width), fc2 = Double(tokens * width * hidden)
        let attention = Double(2 * heads * tokens * tokens * headDim)  // q k^T and a v
        let head = Double(5 * width)  // the class token only
        let affine = patchEmbedding + 2 * (qkv + proj + fc1 + fc2) + head
        let forward = affine + 2 * attention
        // every affine input has both signs here (image, LayerNorm, attention output, GELU): two products each
        let pass = 2 * affine + 4 * 2 * attention
        // per block: W^T g through qkv, proj, fc1, fc2, and both attention inputs' VJPs
        let branches = 2 * (qkv + proj + fc1 + fc2 + 2 * attention)
        let gflop = { (macs: Double) in 2 * macs / 1e9 }
        XCTAssertEqual(count.forward, gflop(forward), accuracy: 1e-15)
        XCTAssertEqual(count.relevancePasses, gflop(2 * pass), accuracy: 1e-15)
        XCTAssertEqual(count.attentionInPasses, gflop(2 * 4 * 2 * attention), accuracy: 1e-15)
        XCTAssertEqual(count.shortcutBranchGradients, gflop(2 * branches), accuracy: 1e-15)
        XCTAssertEqual(count.total, gflop(forward + 2 * pass + 2 * branches), accuracy: 1e-15)
    }

    /// Counts are per image: a batch of 3 gives the counts of one image.
    func testCountsArePerImage() {
        let classifier = TinyModels.resnet()
        let (_, one) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 1))
        let (_, three) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 3))
        let a = classifier.absLRPProductCount(one, images: 1), b = classifier.absLRPProductCount(three, images: 3)
        XCTAssertEqual(a.forward, b.forward, accuracy: 1e-15)
        XCTAssertEqual(a.shortcutBranchGradients, b.shortcutBranchGradients, accuracy: 1e-15)
    }
}

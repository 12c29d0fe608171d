import XCTest
import AbsLRPCore

/// VGG and ResNet against the reference's golden outputs: logits, input
/// gradients, absLRP relevance (contrastive, positive, negative) and the
/// per-module relevance traces of the positive pass (``GoldenModel``).
final class ConvolutionalModelGoldenTests: XCTestCase {
    static let fixtures = ["vgg_mini", "vgg_bn_mini", "resnet_basic_mini", "resnet_bottleneck_mini",
                           "resnet_basic_os8_mini", "resnet_bottleneck_os16_mini"]

    func testLogitsMatchReference() throws {
        for name in Self.fixtures { try GoldenModel(name).checkLogits() }
    }

    func testInputGradientMatchesReference() throws {
        for name in Self.fixtures { try GoldenModel(name).checkInputGradient() }
    }

    func testRelevanceMatchesReference() throws {
        for name in Self.fixtures { try GoldenModel(name).checkRelevance() }
    }

    func testEveryModuleTraceMatchesReference() throws {
        for name in Self.fixtures { try GoldenModel(name).checkTraces() }
    }
}

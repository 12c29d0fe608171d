import XCTest
import AbsLRPCore

/// Every model fixture but `vit_mini` (``VisionTransformerTests``) against
/// the reference's golden outputs: logits, input gradients, absLRP relevance
/// (contrastive, positive, negative) and the per-module relevance traces of
/// the positive pass (``GoldenModel``). Besides the plain VGG and ResNet, the
/// timm options the families support (`scripts/make_reference_fixtures.py`):
/// dilated ResNets (output_stride 8, 16), deep and tiered stems with
/// average-pool shortcuts (resnet50d, resnet26t), base_width
/// (wide_resnet50_2), cardinality (grouped convolutions, resnext50_32x4d),
/// anti-aliased downsampling (aa_layer BlurPool2d with output_stride 16,
/// resnetblur50; nn.AvgPool2d, resnetaa34d), GroupNorm (resnet50_gn), a block class per stage (test_resnet), ViT patch 14 with qkv without bias, a ViT without head
/// (num_classes 0, image size not a multiple of the patch), CLIP's pre_norm
/// (norm_pre explained with differentiated statistics), LayerScale
/// (init_values) and QuickGELU.
final class ModelGoldenTests: XCTestCase {
    static let fixtures = ["vgg_mini", "vgg_bn_mini", "resnet_basic_mini", "resnet_bottleneck_mini",
                           "resnet_basic_os8_mini", "resnet_bottleneck_os16_mini",
                           "resnet_deep_avgdown_mini", "resnet_tiered_basic_mini", "resnet_wide_mini",
                           "resnext_mini", "resnet_blur_os16_mini", "resnet_aa_avg_mini",
                           "resnet_groupnorm_mini", "resnet_mixed_blocks_mini",
                           "vit_patch14_no_qkv_bias_mini", "vit_headless_mini", "vit_pre_norm_mini", "vit_layer_scale_mini",
                           "vit_quick_gelu_mini"]

    func testLogitsMatchReference() throws {
        for name in Self.fixtures { try GoldenModel(name).checkLogits() }
    }

    /// The inference-only forward (fused BatchNorm + ReLU and residual sum +
    /// ReLU, the batch's images in parts on the cores) computes exactly the
    /// recorded forward's logits, as ``VisionTransformerTests`` holds the ViT to.
    func testInferenceLogitsEqualRecordedLogits() throws {
        for name in Self.fixtures {
            let model = try GoldenModel(name), input = try model.tensor("input")
            XCTAssertEqual(model.classifier.logits(input), model.classifier.recordedForward(input).logits, name)
        }
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

    func testAModelWithoutHeadRefusesClassExplanations() throws {
        let g = try GoldenModel("vit_headless_mini")
        XCTAssertEqual(g.classifier.numClasses, 24)
        XCTAssertThrowsError(try AbsLRP(classifier: g.classifier).explain(try g.tensor("input"))) { error in
            XCTAssertEqual(error as? ClassifierInputError, .noClassifierHead(model: "vit_headless_mini", features: 24))
            XCTAssertTrue("\(error)".contains("target feature"), "\(error)")
        }
    }
}

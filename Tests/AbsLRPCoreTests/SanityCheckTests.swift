import XCTest
@testable import AbsLRPCore

/// The sanity checks (model randomization, class sensitivity) on tiny models.
final class SanityCheckTests: XCTestCase {
    func testSpearmanAndCosineFollowTheirDefinitions() {
        XCTAssertEqual(MapSimilarity.ranks([3, 1, 2, 1]), [4, 1.5, 3, 1.5], "ties share their average rank")
        XCTAssertEqual(MapSimilarity.spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1, accuracy: 1e-12)
        XCTAssertEqual(MapSimilarity.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1, accuracy: 1e-12)
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).statistic == 0.8
        XCTAssertEqual(MapSimilarity.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 0.8, accuracy: 1e-12)
        XCTAssertEqual(MapSimilarity.spearman([1, 1, 1], [1, 2, 3]), 0, "a constant map has no ranking")
        XCTAssertEqual(MapSimilarity.cosine([1, 0], [1, 1]), 0.5.squareRoot(), accuracy: 1e-7)
        XCTAssertEqual(MapSimilarity.cosine([0, 0], [1, 1]), 0)
        let r = Tensor(shape: [1, 2, 1, 2], storage: [1, -2, -3, 4])
        XCTAssertEqual(MapSimilarity.pixelMagnitudes(r), [[4, 6]])
    }

    func testParameterGroupsRunFromTheOutputDownAndCoverEveryParameterOnce() {
        let vggBN = Classifier(configuration: ModelConfiguration(
            architecture: .vgg(VGGConfiguration(cfg: [4, nil, 8, nil], mlpRatio: 8.0 / 4096, numClasses: 5, batchNorm: true)),
            inputSize: [3, 16, 16], mean: imagenetDefaultMean, std: imagenetDefaultStd, cropPct: 0.875, name: "vgg_bn"))
        let cases: [(Classifier, [String])] = [
            (TinyModels.vgg(), ["head.fc", "pre_logits.fc2", "pre_logits.fc1", "features.3", "features.0"]),
            (vggBN, ["head.fc", "pre_logits.fc2", "pre_logits.fc1", "features.4+features.5", "features.0+features.1"]),
            (TinyModels.resnet(), ["fc", "layer4.0", "layer3.0", "layer2.0", "layer1.0", "conv1+bn1"]),
            (TinyModels.vit(), ["head", "norm", "blocks.1", "blocks.0", "patch_embed.proj", "cls_token+pos_embed"]),
        ]
        for (classifier, expected) in cases {
            let groups = ModelRandomization.parameterGroups(of: classifier)
            XCTAssertEqual(groups.map(\.name), expected)
            let keys = groups.flatMap { $0.entries.map { $0.module.childName($0.local) } }
            XCTAssertEqual(keys.sorted(), classifier.network.stateDictShapes.map(\.key).sorted(),
                           "\(classifier.configuration.name): every parameter in exactly one group")
        }
    }

    /// Adebayo et al.: gradient maps lose their similarity to the trained
    /// model's as the layers are randomised; random maps never had any.
    func testRandomisationDestroysGradientMapsButRandomStaysUncorrelated() throws {
        let classifier = TinyModels.vgg()
        let images = TinyModels.input(for: classifier, batch: 4)
        let logitsBefore = classifier.logits(images)
        let methods: [RelevancyMethod] = [Saliency(classifier: classifier), RandomRelevance(classifier: classifier, seed: 1)]
        var lines: [String] = []
        let report = try ModelRandomization(methods: methods, batchSize: 3, seed: 4).run(images, progress: { lines.append($0) })
        XCTAssertEqual(classifier.logits(images), logitsBefore, "trained weights restored")
        XCTAssertEqual(report.steps, ["none", "head.fc", "pre_logits.fc2", "pre_logits.fc1", "features.3", "features.0"])
        XCTAssertEqual(lines.count, report.steps.count)
        XCTAssertEqual(report.images, 4)

        let gradient = report.methods[0].spearman.map(\.mean), random = report.methods[1].spearman.map(\.mean)
        print("gradient spearman per step: \(gradient)\nrandom spearman per step: \(random)")
        XCTAssertEqual(gradient[0], 1, accuracy: 1e-9, "the unchanged model reproduces its maps")
        XCTAssertLessThan(gradient.last!, gradient[0] - 0.5, "fully randomised, the gradient map is another one")
        for value in random { XCTAssertLessThan(abs(value), 0.2) }
    }

    /// Gradient-based maps change with the explained class; attention rollout,
    /// which ignores the class, does not.
    func testClassSensitivity() throws {
        let vgg = TinyModels.vgg()
        let images = TinyModels.input(for: vgg, batch: 4)
        let report = try ClassSensitivity(methods: [Saliency(classifier: vgg), InputXGradient(classifier: vgg)],
                                          batchSize: 4).run(images)
        for entry in report.methods {
            print("\(entry.method): spearman \(entry.spearman.mean), cosine \(entry.cosine.mean)")
            XCTAssertTrue(entry.passes, "\(entry.method) spearman \(entry.spearman.mean)")
        }
        let vit = TinyModels.vit()
        let rollout = try ClassSensitivity(methods: [AttentionRollout(classifier: vit)]).run(TinyModels.input(for: vit, batch: 2))
        XCTAssertEqual(rollout.methods[0].spearman.mean, 1, accuracy: 1e-9)
        XCTAssertEqual(rollout.methods[0].cosine.mean, 1, accuracy: 1e-6)
        XCTAssertFalse(rollout.methods[0].passes)
    }

    func testInvalidChecksAreRefused() {
        let vgg = TinyModels.vgg(), other = TinyModels.vgg()
        let images = TinyModels.input(for: vgg)
        XCTAssertThrowsError(try ModelRandomization(methods: []).run(images)) {
            XCTAssertEqual($0 as? SanityCheckError, .noMethods)
        }
        XCTAssertThrowsError(try ClassSensitivity(methods: [Saliency(classifier: vgg), Saliency(classifier: other)]).run(images)) {
            XCTAssertEqual($0 as? SanityCheckError, .methodsOnDifferentModels("gradient"))
        }
        XCTAssertThrowsError(try ClassSensitivity(methods: [Saliency(classifier: vgg)], batchSize: 0).run(images)) {
            XCTAssertEqual($0 as? SanityCheckError, .invalidBatchSize(0))
        }
        XCTAssertThrowsError(try ClassSensitivity(methods: [Saliency(classifier: vgg)]).run(Tensor(shape: [0, 3, 16, 16]))) {
            XCTAssertEqual($0 as? SanityCheckError, .noImages)
        }
    }
}

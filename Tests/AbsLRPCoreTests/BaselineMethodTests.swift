import XCTest
@testable import AbsLRPCore

/// Tiny seeded models for the baseline-method and sanity-check tests (random
/// He-normal weights, so no fixture files are read).
enum TinyModels {
    /// timm VGG with cfg [4, M, 8, M] and an 8-channel pre_logits fc1, on 16x16 inputs.
    static func vgg(seed: UInt64 = 1, classes: Int = 5) -> Classifier {
        build(.vgg(VGGConfiguration(cfg: [4, nil, 8, nil], mlpRatio: 8.0 / 4096, numClasses: classes)), size: 16, seed: seed)
    }

    /// timm ResNet, BasicBlocks [1, 1, 1, 1], widths [4, 8, 8, 8], on 64x64 inputs (layer4 is 2x2).
    static func resnet(seed: UInt64 = 2) -> Classifier {
        build(.resnet(ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], channels: [4, 8, 8, 8], numClasses: 5)),
              size: 64, seed: seed)
    }

    /// timm ViT: 16x16 images, 4x4 patches (a 4x4 grid, 17 tokens), width 12, 3 heads, 2 blocks.
    static func vit(seed: UInt64 = 3) -> Classifier {
        build(.visionTransformer(VisionTransformerConfiguration(imageSize: 16, patchSize: 4, embedDim: 12, depth: 2,
                                                                numHeads: 3, mlpRatio: 2, numClasses: 5)),
              size: 16, seed: seed)
    }

    private static func build(_ architecture: Architecture, size: Int, seed: UInt64) -> Classifier {
        let configuration = ModelConfiguration(architecture: architecture, inputSize: [3, size, size],
                                               mean: imagenetDefaultMean, std: imagenetDefaultStd, cropPct: 0.875,
                                               name: "tiny_\(architecture.familyName)")
        let classifier = Classifier(configuration: configuration)
        classifier.randomizeWeights(seed: seed)
        return classifier
    }

    /// A seeded standard-normal batch the model takes.
    static func input(for classifier: Classifier, batch: Int = 2, seed: UInt64 = 7) -> Tensor {
        randomTensor([batch] + classifier.configuration.inputSize, seed: seed)
    }
}

/// The baseline relevancy methods against their definitions on tiny models.
final class BaselineMethodTests: XCTestCase {
    // MARK: gradient family

    func testGradientIsTheMagnitudeOfTheClassifiersInputGradient() throws {
        let classifier = TinyModels.resnet()
        let x = TinyModels.input(for: classifier)
        let targets = [1, 3]
        let method = Saliency(classifier: classifier)
        let expected = classifier.inputGradient(x, targets: targets).gradient
        XCTAssertEqual(try method.attribution(x, targets: targets), expected.absolute)
        XCTAssertEqual(try method.relevance(x, targets: targets), expected.absolute.normalizedMax())
        // Without targets: each image's argmax.
        let predicted = classifier.logits(x).argmaxRows()
        XCTAssertEqual(try method.attribution(x, targets: nil),
                       classifier.inputGradient(x, targets: predicted).gradient.absolute)
    }

    func testInputXGradientIsInputTimesGradient() throws {
        let classifier = TinyModels.vgg()
        let x = TinyModels.input(for: classifier)
        let gradient = classifier.inputGradient(x, targets: [0, 4]).gradient
        XCTAssertEqual(try InputXGradient(classifier: classifier).attribution(x, targets: [0, 4]), x * gradient)
    }

    func testSmoothGradWithoutNoiseIsSaliencyAndDoesNotDependOnChunking() throws {
        let classifier = TinyModels.vgg()
        let x = TinyModels.input(for: classifier)
        let saliency = try Saliency(classifier: classifier).attribution(x, targets: nil)
        let noiseless = try SmoothGrad(classifier: classifier, samples: 3, noiseLevel: 0, seed: 1, chunkSize: 4)
        assertClose(try noiseless.attribution(x, targets: nil), saliency, rtol: 1e-5, atol: 1e-7, "noise 0")

        let inOne = try SmoothGrad(classifier: classifier, samples: 5, noiseLevel: 0.15, seed: 9, chunkSize: 100)
        let inChunks = try SmoothGrad(classifier: classifier, samples: 5, noiseLevel: 0.15, seed: 9, chunkSize: 3)
        let a = try inOne.attribution(x, targets: nil)
        assertClose(try inChunks.attribution(x, targets: nil), a, rtol: 1e-5, atol: 1e-7, "chunk size")
        // chunks of 1 row: the first chunk still holds both images (the forward the logits come from)
        let single = try SmoothGrad(classifier: classifier, samples: 5, noiseLevel: 0.15, seed: 9, chunkSize: 1)
        assertClose(try single.attribution(x, targets: nil), a, rtol: 1e-5, atol: 1e-7, "chunk size 1")
        XCTAssertEqual(try inOne.attribution(x, targets: nil), a, "a map is a function of the batch and the seed")
        XCTAssertGreaterThan(maxAbsDifference(a, saliency), 0, "noise changes the map")
    }

    /// The path's points may go through the model in chunks of any size, the
    /// input itself first (whose forward gives the logits).
    func testIntegratedGradientsDoesNotDependOnChunking() throws {
        let classifier = TinyModels.resnet()
        let x = TinyModels.input(for: classifier)
        let whole = try IntegratedGradients(classifier: classifier, steps: 5, chunkSize: 100).explain(x, targets: nil)
        for chunkSize in [1, 3] {
            let chunked = try IntegratedGradients(classifier: classifier, steps: 5, chunkSize: chunkSize).explain(x, targets: nil)
            assertClose(chunked.relevance, whole.relevance, rtol: 1e-5, atol: 1e-6, "chunk size \(chunkSize)")
            XCTAssertEqual(chunked.targets, whole.targets)
            assertClose(chunked.logits, classifier.logits(x), rtol: 1e-5, atol: 1e-6, "chunk size \(chunkSize) logits")
        }
    }

    /// Completeness (Sundararajan et al., proposition 1): the attributions
    /// sum to f_t(x) - f_t(0), here within 1% with 256 trapezoid points.
    func testIntegratedGradientsCompleteness() throws {
        for classifier in [TinyModels.vgg(), TinyModels.vit()] {
            let x = TinyModels.input(for: classifier)
            let targets = classifier.logits(x).argmaxRows()
            let method = try IntegratedGradients(classifier: classifier, steps: 256, chunkSize: 128)
            let attribution = try method.attribution(x, targets: targets)
            let atInput = classifier.logits(x), atZero = classifier.logits(Tensor(shape: x.shape))
            let n = x.sampleCount
            for (b, t) in targets.enumerated() {
                let total = attribution.storage[(b * n)..<((b + 1) * n)].reduce(0.0) { $0 + Double($1) }
                let difference = Double(atInput[b, t] - atZero[b, t])
                print("\(classifier.configuration.name) image \(b): sum of attributions \(total), f(x) - f(0) \(difference)")
                XCTAssertEqual(total, difference, accuracy: 0.01 * abs(difference),
                               "\(classifier.configuration.name) image \(b): sum \(total) vs f(x) - f(0) \(difference)")
            }
        }
    }

    // MARK: LRP

    /// On a bias-free ReLU network LRP-0 is input x gradient (Ancona et al. 2018).
    func testLRPEpsilonTendsToInputXGradientWithoutBiases() throws {
        let classifier = TinyModels.vgg()
        for module in classifier.network.allModules where module.state["bias"] != nil {
            module.setParameter("bias", Tensor(shape: module.parameter("bias").shape))
        }
        let x = TinyModels.input(for: classifier)
        let lrp = try LayerwiseRelevance.epsilon(classifier: classifier, epsilon: 1e-9).attribution(x, targets: [2, 2])
        let inputXGradient = try InputXGradient(classifier: classifier).attribution(x, targets: [2, 2])
        let scale = inputXGradient.storage.map(abs).max()!
        assertClose(lrp, inputXGradient, rtol: 1e-3, atol: 1e-5 * scale, "LRP-0 vs input x gradient")
    }

    /// LRP-z+ is conservative and non-negative for a positive logit on a
    /// bias-free network: each layer passes on its relevance in positive shares.
    func testLRPZPlusConservesAPositiveLogitInNonNegativeShares() throws {
        let classifier = TinyModels.vgg()
        for module in classifier.network.allModules where module.state["bias"] != nil {
            module.setParameter("bias", Tensor(shape: module.parameter("bias").shape))
        }
        let x = TinyModels.input(for: classifier)
        let logits = classifier.logits(x)
        let targets = logits.argmaxRows()
        let relevance = try LayerwiseRelevance.zPlus(classifier: classifier).attribution(x, targets: targets)
        let n = x.sampleCount
        for (b, t) in targets.enumerated() {
            XCTAssertGreaterThan(logits[b, t], 0)
            let share = relevance.storage[(b * n)..<((b + 1) * n)]
            XCTAssertEqual(share.reduce(0.0) { $0 + Double($1) }, Double(logits[b, t]), accuracy: 1e-4 * Double(logits[b, t]))
            XCTAssertGreaterThanOrEqual(share.min()!, 0)
        }
    }

    /// `ZPlusRule` on a Linear layer against the rule's definition, element by element,
    /// with negative inputs and a bias.
    func testLinearZPlusRuleMatchesItsDefinition() {
        let layer = Linear(name: "fc", inFeatures: 4, outFeatures: 3)
        layer.setParameter("weight", randomTensor([3, 4], seed: 11))
        layer.setParameter("bias", randomTensor([3], seed: 12))
        let x = randomTensor([2, 4], seed: 13), r = randomTensor([2, 3], seed: 14)
        let ours = ZPlusRule(stabilizer: 1e-9).propagate(r, at: layer, recordOf(layer, x))[0]
        let (w, bias) = (layer.parameter("weight"), layer.parameter("bias"))
        func contribution(_ b: Int, _ i: Int, _ j: Int) -> Double {
            let (xv, wv) = (Double(x[b, i]), Double(w[j, i]))
            return max(xv, 0) * max(wv, 0) + min(xv, 0) * min(wv, 0)
        }
        for b in 0..<2 {
            let z = (0..<3).map { j in (0..<4).reduce(0.0) { $0 + contribution(b, $1, j) } + max(Double(bias[j]), 0) }
            for i in 0..<4 {
                let expected = (0..<3).reduce(0.0) { $0 + contribution(b, i, $1) * Double(r[b, $1]) / (z[$1] + 1e-9) }
                XCTAssertEqual(Double(ours[b, i]), expected, accuracy: 1e-5 * max(1, abs(expected)), "[\(b), \(i)]")
            }
        }
    }

    /// CP-LRP on a ViT: q and k receive no relevance, and `A @ v` hands its
    /// relevance to v (conservatively, up to epsilon).
    func testViTLRPTreatsAttentionAsConstant() throws {
        let classifier = TinyModels.vit()
        let x = TinyModels.input(for: classifier)
        let (logits, tape) = classifier.recordedForward(x)
        let seed = Tensor.oneHot(logits.argmaxRows(), classes: logits.shape[1]) * logits
        let rules = classifier.lrpComposite([], fallback: EpsilonRule(epsilon: 1e-9)).ruleMap(for: classifier.network)
        let traces = classifier.backward(seed, tape: tape, rules: rules, traces: true).traces
        for block in 0..<2 {
            let attention = "blocks.\(block).attn"
            XCTAssertEqual(traces["\(attention).qk_multiply.0"]!.absolute.sum, 0, "\(attention): q")
            XCTAssertEqual(traces["\(attention).qk_multiply.1"]!.absolute.sum, 0, "\(attention): k")
            XCTAssertEqual(traces["\(attention).softmax_attention"]!.absolute.sum, 0, "\(attention): attention logits")
            // Relevance at the product's output is what proj's input received (heads merged).
            let atOutput = traces["\(attention).proj"]!, toValues = traces["\(attention).attention_v_multiply.1"]!
            XCTAssertGreaterThan(atOutput.absolute.sum, 0)
            XCTAssertEqual(toValues.sum, atOutput.sum, accuracy: 1e-4 * atOutput.absolute.sum, "\(attention): v gets it all")
        }
        let relevance = try LayerwiseRelevance.epsilon(classifier: classifier, epsilon: 1e-6).attribution(x, targets: nil)
        XCTAssertEqual(relevance.shape, x.shape)
        XCTAssertTrue(relevance.storage.allSatisfy(\.isFinite))
    }

    // MARK: Grad-CAM

    func testGradCAMMatchesADirectComputation() throws {
        for (classifier, siteName) in [(TinyModels.vgg(), "features.5"), (TinyModels.resnet(), "global_pool.pool")] {
            let x = TinyModels.input(for: classifier)
            let targets = [3, 1]
            let ours = try GradCAM(classifier: classifier).attribution(x, targets: targets)

            let (logits, tape) = classifier.recordedForward(x)
            let site = classifier.network.allModules.first { $0.name == siteName }!
            let traces = classifier.backward(Tensor.oneHot(targets, classes: logits.shape[1]), tape: tape,
                                             rules: .gradient, traces: true).traces
            let a = tape.record(for: site).inputs[0], g = traces[siteName]!
            let (batch, channels, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
            var cam = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: w), count: h), count: batch)
            for b in 0..<batch {
                for k in 0..<channels {
                    var mean: Float = 0
                    for i in 0..<h { for j in 0..<w { mean += g[b, k, i, j] } }
                    mean /= Float(h * w)
                    for i in 0..<h { for j in 0..<w { cam[b][i][j] += mean * a[b, k, i, j] } }
                }
            }
            let (height, width) = (x.shape[2], x.shape[3])
            var expected = Tensor(shape: x.shape)
            for b in 0..<batch {
                let up = naiveBilinear(cam[b].map { $0.map { max($0, 0) } }, height: height, width: width)
                for c in 0..<x.shape[1] { for i in 0..<height { for j in 0..<width { expected[b, c, i, j] = up[i][j] } } }
            }
            XCTAssertGreaterThan(expected.absolute.sum, 0, "\(siteName): the test needs a non-zero map")
            assertClose(ours, expected, rtol: 1e-4, atol: 1e-6 * expected.storage.max()!, "\(siteName)")
        }
    }

    func testGradCAMReadsTheLastConvolutionalStage() throws {
        // VGG: the input of the final max pool of `features` (the last ReLU's output).
        let vgg = TinyModels.vgg()
        XCTAssertTrue(vgg.network.allModules.first { $0.name == "features" }!.children.last! is MaxPool2d)
        XCTAssertEqual(vgg.network.allModules.first { $0.name == "features.5" }.map { "\(type(of: $0))" }, "MaxPool2d")
        // A VGG whose features end with a convolution stage is refused, not silently mis-read.
        let configuration = ModelConfiguration(architecture: .vgg(VGGConfiguration(cfg: [4, nil, 8], mlpRatio: 8.0 / 4096, numClasses: 3)),
                                               inputSize: [3, 16, 16], mean: imagenetDefaultMean, std: imagenetDefaultStd,
                                               cropPct: 0.875, name: "open_vgg")
        XCTAssertThrowsError(try GradCAM(classifier: Classifier(configuration: configuration))) { error in
            guard case RelevancyMethodError.notApplicable(let method, let architecture, _) = error else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual([method, architecture], ["gradcam", "vgg"])
        }
    }

    // MARK: attention methods

    /// Rollout against the explicit product of the tape's attention matrices.
    func testAttentionRolloutIsTheProductOfAttentionMatrices() throws {
        let classifier = TinyModels.vit()
        let x = TinyModels.input(for: classifier)
        let ours = try AttentionRollout(classifier: classifier).attribution(x, targets: nil)

        let (_, tape) = classifier.recordedForward(x)
        let attention = classifier.network.allModules.compactMap { $0 as? Softmax }.map { tape.record(for: $0).output }
        XCTAssertEqual(attention.count, 2)
        let expected = expectedTokenMap(x, tokens: 17) { b in
            var rollout = identity(17)
            for a in attention {
                let heads = a.shape[1]
                var layer = identity(17)
                for i in 0..<17 {
                    for j in 0..<17 { for h in 0..<heads { layer[i][j] += a[b, h, i, j] / Float(heads) } }
                    let sum = layer[i].reduce(0, +)
                    layer[i] = layer[i].map { $0 / sum }
                }
                rollout = product(layer, rollout)
            }
            return rollout[0]
        }
        assertClose(ours, expected, rtol: 1e-4, atol: 1e-6, "rollout")
    }

    /// Transformer attribution against R = prod (I + mean_h (grad A ⊙ A)^+), by loops.
    func testTransformerAttributionMatchesItsDefinition() throws {
        let classifier = TinyModels.vit()
        let x = TinyModels.input(for: classifier)
        let targets = [4, 0]
        let ours = try TransformerAttribution(classifier: classifier).attribution(x, targets: targets)

        let (logits, tape) = classifier.recordedForward(x)
        let traces = classifier.backward(Tensor.oneHot(targets, classes: logits.shape[1]), tape: tape,
                                         rules: .gradient, traces: true).traces
        let attention = classifier.network.allModules.compactMap { $0 as? Softmax }.map { tape.record(for: $0).output }
        let gradients = (0..<2).map { traces["blocks.\($0).attn.attn_drop"]! }
        let expected = expectedTokenMap(x, tokens: 17) { b in
            var r = identity(17)
            for (a, g) in zip(attention, gradients) {
                let heads = a.shape[1]
                var weighted = [[Float]](repeating: [Float](repeating: 0, count: 17), count: 17)
                for i in 0..<17 {
                    for j in 0..<17 { for h in 0..<heads { weighted[i][j] += max(a[b, h, i, j] * g[b, h, i, j], 0) / Float(heads) } }
                }
                let update = product(weighted, r)
                for i in 0..<17 { for j in 0..<17 { r[i][j] += update[i][j] } }
            }
            return r[0]
        }
        XCTAssertGreaterThan(maxAbsDifference(expected, try AttentionRollout(classifier: classifier).attribution(x, targets: nil)), 0)
        assertClose(ours, expected, rtol: 1e-4, atol: 1e-6 * expected.storage.max()!, "transformer attribution")
    }

    // MARK: random, registry, refusals

    func testRandomIsReproducibleBySeed() throws {
        let classifier = TinyModels.vgg()
        let x = TinyModels.input(for: classifier)
        let first = RandomRelevance(classifier: classifier, seed: 5), second = RandomRelevance(classifier: classifier, seed: 5)
        let maps = try (0..<2).map { _ in try first.relevance(x, targets: nil) }
        XCTAssertEqual(try (0..<2).map { _ in try second.relevance(x, targets: nil) }, maps, "same seed, same sequence")
        XCTAssertNotEqual(maps[0], maps[1], "each call draws new noise")
        XCTAssertNotEqual(try RandomRelevance(classifier: classifier, seed: 6).relevance(x, targets: nil), maps[0])
        XCTAssertTrue(maps[0].storage.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertThrowsError(try first.relevance(x, targets: [0]), "targets are still checked")
    }

    func testEveryApplicableMethodReturnsAMaxNormalisedMapOfTheInputsShape() throws {
        let options = RelevancyMethodOptions(smoothGradSamples: 2, integratedGradientsSteps: 3)
        for classifier in [TinyModels.vgg(), TinyModels.resnet(), TinyModels.vit()] {
            let x = TinyModels.input(for: classifier)
            let names = RelevancyMethods.applicable(to: classifier)
            let family = classifier.configuration.architecture.familyName
            XCTAssertEqual(Set(RelevancyMethods.names).subtracting(names),
                           family == "vision_transformer" ? Set(["gradcam"] + LayerwiseRelevance.zennitMethodNames)
                                                          : ["attention-rollout", "transformer-attribution"])
            for name in names {
                let method = try RelevancyMethods.make(name, classifier: classifier, options: options)
                XCTAssertEqual(method.name, name)
                let relevance = try method.relevance(x, targets: [1, 2])
                XCTAssertEqual(relevance.shape, x.shape, "\(family) \(name)")
                let n = x.sampleCount
                for b in 0..<2 {
                    let peak = relevance.storage[(b * n)..<((b + 1) * n)].map(abs).max()!
                    XCTAssertEqual(peak, 1, accuracy: 1e-4, "\(family) \(name) image \(b)")
                }
            }
        }
    }

    /// Every method returns one `Explanation`: the logits of its own forward
    /// (the model's, up to the BatchNorm merge of Zennit's composites), the
    /// explained classes (given, or the argmax), the relevance `relevance()`
    /// returns, and absLRP alone its two passes as extras.
    func testEveryMethodExplainsWithTheLogitsOfItsForward() throws {
        let options = RelevancyMethodOptions(smoothGradSamples: 2, integratedGradientsSteps: 3)
        for classifier in [TinyModels.vgg(), TinyModels.resnet(), TinyModels.vit()] {
            let x = TinyModels.input(for: classifier)
            let logits = classifier.logits(x)
            for name in RelevancyMethods.applicable(to: classifier) {
                let method = try RelevancyMethods.make(name, classifier: classifier, options: options)
                let e = try method.explain(x, targets: nil)
                assertClose(e.logits, logits, rtol: 1e-3, atol: 1e-5, "\(name) logits")
                XCTAssertEqual(e.targets, logits.argmaxRows(), name)
                XCTAssertEqual(try method.explain(x, targets: [1, 2]).targets, [1, 2], name)
                if name != "random" { XCTAssertEqual(try method.relevance(x, targets: nil), e.relevance, name) }
                XCTAssertEqual(Set(e.extras.keys), name == "abslrp" ? ["positive", "negative"] : [], name)
                for (key, map) in e.extras { XCTAssertEqual(map.shape, x.shape, "\(name) \(key)") }
            }
        }
    }

    func testMethodsThatDoNotApplyAreRefusedWithAReason() {
        let cases: [(Classifier, String, String)] = [
            (TinyModels.vit(), "gradcam", "vision_transformer"),
            (TinyModels.vgg(), "attention-rollout", "vgg"),
            (TinyModels.resnet(), "transformer-attribution", "resnet"),
        ]
        for (classifier, name, family) in cases {
            XCTAssertThrowsError(try RelevancyMethods.make(name, classifier: classifier)) { error in
                guard case RelevancyMethodError.notApplicable(let method, let architecture, let reason) = error else {
                    return XCTFail("\(name): unexpected \(error)")
                }
                XCTAssertEqual([method, architecture], [name, family])
                XCTAssertFalse(reason.isEmpty)
                XCTAssertTrue("\(error)".contains("does not apply to \(family) models"), "\(error)")
            }
        }
        let vgg = TinyModels.vgg()
        XCTAssertThrowsError(try RelevancyMethods.make("occlusion", classifier: vgg)) { error in
            XCTAssertEqual(error as? RelevancyMethodError, .unknownMethod("occlusion", known: RelevancyMethods.names))
        }
        for options in [RelevancyMethodOptions(smoothGradSamples: 0), RelevancyMethodOptions(smoothGradNoiseLevel: -1),
                        RelevancyMethodOptions(chunkSize: 0)] {
            XCTAssertThrowsError(try RelevancyMethods.make("smoothgrad", classifier: vgg, options: options)) { error in
                guard case RelevancyMethodError.invalidOption = error else { return XCTFail("unexpected \(error)") }
            }
        }
        XCTAssertThrowsError(try RelevancyMethods.make("integrated-gradients", classifier: vgg,
                                                       options: RelevancyMethodOptions(integratedGradientsSteps: 1)))
        XCTAssertThrowsError(try RelevancyMethods.make("lrp-epsilon", classifier: vgg,
                                                       options: RelevancyMethodOptions(lrpEpsilon: -1)))
    }

    // MARK: helpers (independent of the library's kernels)

    /// `F.interpolate(mode="bilinear", align_corners=False)` of one map, by its definition.
    private func naiveBilinear(_ map: [[Float]], height: Int, width: Int) -> [[Float]] {
        let (h, w) = (map.count, map[0].count)
        func source(_ i: Int, _ out: Int, _ size: Int) -> (Int, Int, Float) {
            let s = max((Float(i) + 0.5) * Float(size) / Float(out) - 0.5, 0)
            let low = min(Int(s), size - 1)
            return (low, min(low + 1, size - 1), s - Float(low))
        }
        return (0..<height).map { i in
            let (y0, y1, fy) = source(i, height, h)
            return (0..<width).map { j in
                let (x0, x1, fx) = source(j, width, w)
                let top = map[y0][x0] * (1 - fx) + map[y0][x1] * fx
                let bottom = map[y1][x0] * (1 - fx) + map[y1][x1] * fx
                return top * (1 - fy) + bottom * fy
            }
        }
    }

    private func identity(_ n: Int) -> [[Float]] {
        (0..<n).map { i in (0..<n).map { $0 == i ? 1 : 0 } }
    }

    private func product(_ a: [[Float]], _ b: [[Float]]) -> [[Float]] {
        a.indices.map { i in b[0].indices.map { j in a[i].indices.reduce(Float(0)) { $0 + a[i][$1] * b[$1][j] } } }
    }

    /// The per-image class-token rows `row(b)` (T values) as patch-grid maps
    /// upsampled to `x`'s size and repeated over its channels.
    private func expectedTokenMap(_ x: Tensor, tokens: Int, row: (Int) -> [Float]) -> Tensor {
        let side = Int(Double(tokens - 1).squareRoot())
        var out = Tensor(shape: x.shape)
        for b in 0..<x.shape[0] {
            let r = row(b)
            let grid = (0..<side).map { i in (0..<side).map { j in r[1 + i * side + j] } }
            let up = naiveBilinear(grid, height: x.shape[2], width: x.shape[3])
            for c in 0..<x.shape[1] { for i in 0..<x.shape[2] { for j in 0..<x.shape[3] { out[b, c, i, j] = up[i][j] } } }
        }
        return out
    }
}

import XCTest
import Foundation
@testable import AbsLRPCore
import TestFixtures

/// The Vision Transformer against the reference implementation's golden
/// outputs (`Tests/Fixtures/reference/vit_mini.*`: timm 1.0.11 ViT, 32x32
/// input, patch 8, 2 blocks, 3 heads, randomised LayerNorms).
///
/// Bounds (fixtures README, "Tolerances that the reference itself supports"):
/// logits and input gradients relative 1e-4; relevance maps and every traced
/// intermediate relevance, after max-normalisation per sample, max abs
/// difference 1e-3 and cosine >= 0.99999 per sample.
final class VisionTransformerTests: XCTestCase {
    static let fixture = "vit_mini"
    static let maxAbsBound: Float = 1e-3
    static let cosineBound = 0.99999

    /// The model with the fixture's weights, and the expected tensors.
    static func load() throws -> (classifier: Classifier, expected: SafetensorsFile) {
        let base = "reference/\(fixture)"
        let configuration = try ModelConfiguration(contentsOf: Fixtures.url("\(base).config.json"))
        let classifier = try Classifier(configuration: configuration, weights: Fixtures.url("\(base).weights.safetensors"))
        let expected = try SafetensorsFile(contentsOf: Fixtures.url("\(base).expected.safetensors"))
        return (classifier, expected)
    }

    /// Compares two relevance maps (already normalised as they should be):
    /// max abs difference and per-sample cosine, both against the bounds.
    /// Prints and returns the measured values.
    @discardableResult
    static func compareRelevance(_ ours: Tensor, _ expected: Tensor, _ label: String,
                                 file: StaticString = #filePath, line: UInt = #line) -> (maxAbs: Float, minCosine: Double)? {
        guard ours.shape == expected.shape else {
            XCTFail("\(label): shape \(ours.shape) != expected \(expected.shape)", file: file, line: line)
            return nil
        }
        let maxAbs = maxAbsDifference(ours, expected)
        let minCosine = cosinePerSample(ours, expected).min() ?? 1
        let summary = "\(label): max abs difference \(maxAbs), min cosine \(minCosine)"
        print("[\(fixture)] \(summary)")
        XCTAssertLessThanOrEqual(maxAbs, maxAbsBound, summary, file: file, line: line)
        XCTAssertGreaterThanOrEqual(minCosine, cosineBound, summary, file: file, line: line)
        XCTAssertTrue(ours.storage.allSatisfy(\.isFinite), "\(label): non-finite values", file: file, line: line)
        return (maxAbs, minCosine)
    }

    func testStateDictKeysAndShapesAreTimms() throws {
        let (classifier, _) = try Self.load()
        let weights = try SafetensorsFile(contentsOf: Fixtures.url("reference/\(Self.fixture).weights.safetensors"))
        let ours = Dictionary(uniqueKeysWithValues: classifier.network.stateDictShapes.map { ($0.key, $0.shape) })
        var theirs: [String: [Int]] = [:]
        for name in weights.names { theirs[name] = try weights.info(name).shape }
        XCTAssertEqual(ours, theirs)
    }

    func testLogitsAndInputGradientMatchReference() throws {
        let (classifier, expected) = try Self.load()
        let input = try expected.tensor("input")
        let targets = try expected.integers("target")
        let (logits, gradient) = classifier.inputGradient(input, targets: targets)
        let expectedLogits = try expected.tensor("logits")
        let expectedGradient = try expected.tensor("input_gradient")
        print("[\(Self.fixture)] logits: max abs difference \(maxAbsDifference(logits, expectedLogits)), "
              + "max |expected| \(expectedLogits.storage.map(abs).max()!)")
        print("[\(Self.fixture)] input_gradient: max abs difference \(maxAbsDifference(gradient, expectedGradient)), "
              + "max |expected| \(expectedGradient.storage.map(abs).max()!), "
              + "min cosine \(cosinePerSample(gradient, expectedGradient).min()!)")
        assertClose(logits, expectedLogits, rtol: 1e-4, atol: 1e-6, "logits")
        // The gradient's scale is ~1e-3, so its absolute floor is scaled too
        // (1e-6 of its largest magnitude): stricter than a flat 1e-6.
        let gradientFloor = 1e-6 * expectedGradient.storage.map(abs).max()!
        assertClose(gradient, expectedGradient, rtol: 1e-4, atol: gradientFloor, "input_gradient")
        XCTAssertEqual(logits.argmaxRows(), targets, "targets are the argmax of the logits")
        // The inference-only path computes the same logits.
        XCTAssertEqual(classifier.logits(input), logits)
    }

    func testRelevanceMatchesReference() throws {
        let (classifier, expected) = try Self.load()
        let input = try expected.tensor("input")
        let explanation = try AbsLRP(classifier: classifier).explain(input)
        XCTAssertEqual(explanation.targets, try expected.integers("target"))
        Self.compareRelevance(explanation.relevance, try expected.tensor("relevance"), "relevance")
        Self.compareRelevance(explanation.extras["positive"]!.normalizedMax(), try expected.tensor("relevance_positive").normalizedMax(),
                              "relevance_positive")
        Self.compareRelevance(explanation.extras["negative"]!.normalizedMax(), try expected.tensor("relevance_negative").normalizedMax(),
                              "relevance_negative")
        // Each pass leaves the input with L1 mass 1 per sample (spec section 1).
        for pass in [explanation.extras["positive"]!, explanation.extras["negative"]!] {
            for b in 0..<pass.shape[0] {
                XCTAssertEqual(pass.batchSlice(b..<(b + 1)).storage.reduce(0) { $0 + Double(abs($1)) }, 1, accuracy: 1e-4)
            }
        }
    }

    /// Every `trace.*` tensor of the fixture (the positive pass's relevance at
    /// each module's input), in the order of the backward pass, against ours.
    func testEveryTraceMatchesReference() throws {
        let (classifier, expected) = try Self.load()
        let input = try expected.tensor("input")
        let explanation = try AbsLRP(classifier: classifier).explain(input, traces: true)
        let keys = expected.names.filter { $0.hasPrefix("trace.") }.map { String($0.dropFirst("trace.".count)) }
        XCTAssertEqual(keys.count, 76, "the fixture's trace list changed")
        var worst: (name: String, maxAbs: Float, minCosine: Double) = ("", 0, 1)
        for key in keys {
            guard let ours = explanation.traces[key] else {
                XCTFail("trace \(key): missing on our side")
                continue
            }
            let reference = try expected.tensor("trace.\(key)")
            if let (maxAbs, minCosine) = Self.compareRelevance(ours.normalizedMax(), reference.normalizedMax(), "trace.\(key)") {
                if maxAbs > worst.maxAbs { worst.maxAbs = maxAbs; worst.name = key }
                worst.minCosine = min(worst.minCosine, minCosine)
            }
        }
        print("[\(Self.fixture)] traces: worst max abs difference \(worst.maxAbs) (\(worst.name)), min cosine \(worst.minCosine)")
        let extra = Set(explanation.traces.keys).subtracting(keys).sorted()
        XCTAssertEqual(extra, [], "traces the reference does not have")
    }

    /// The gradient pass walks the same composite code with true VJPs; its
    /// traces at the model input equal the input gradient.
    func testGradientTraceAtModelInputIsTheInputGradient() throws {
        let (classifier, expected) = try Self.load()
        let input = try expected.tensor("input")
        let (logits, tape) = classifier.recordedForward(input)
        let seed = Tensor.oneHot(try expected.integers("target"), classes: logits.shape[1])
        let result = classifier.backward(seed, tape: tape, rules: .gradient, traces: true)
        XCTAssertEqual(result.traces["model"], result.input)
        let expectedGradient = try expected.tensor("input_gradient")
        assertClose(result.input, expectedGradient, rtol: 1e-4, atol: 1e-6 * expectedGradient.storage.map(abs).max()!,
                    "input_gradient via traces")
    }

    /// Every backward mode runs through the ViT's composite code (blocks,
    /// attention, position embedding, patch map) and returns finite values
    /// of the input's shape; the detached gradient (statistics constant)
    /// differs from the true one.
    func testEveryRuleSetRuns() throws {
        let (classifier, expected) = try Self.load()
        let input = try expected.tensor("input")
        let (logits, tape) = classifier.recordedForward(input)
        let seed = Tensor.oneHot(logits.argmaxRows(), classes: logits.shape[1])
        var results: [String: Tensor] = [:]
        let ruleSets: [(String, RuleMap)] = [
            ("gradient", .gradient), ("detachedGradient", .detachedGradient),
            ("absLRP", classifier.absLRPComposite.ruleMap(for: classifier.network)),
            ("lrpEpsilon", try LayerwiseRelevance.epsilon(classifier: classifier, epsilon: 1e-6).composite.ruleMap(for: classifier.network)),
            ("lrpZPlus", try LayerwiseRelevance.zPlus(classifier: classifier).composite.ruleMap(for: classifier.network)),
        ]
        for (mode, rules) in ruleSets {
            let out = classifier.backward(seed, tape: tape, rules: rules).input
            XCTAssertEqual(out.shape, input.shape, "\(mode)")
            XCTAssertTrue(out.storage.allSatisfy(\.isFinite), "\(mode): non-finite values")
            XCTAssertGreaterThan(out.storage.map(abs).max() ?? 0, 0, "\(mode): all zeros")
            results[mode] = out
        }
        let gradient = results["gradient"]!, detached = results["detachedGradient"]!
        XCTAssertGreaterThan(maxAbsDifference(gradient, detached), 1e-3 * gradient.storage.map(abs).max()!)
    }

    func testUnsupportedOptionsAreRefused() throws {
        let base = #"{"architecture": "vision_transformer", "model_args": {"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3, "num_classes": 10, %@}}"#
        func configuration(_ extra: String) throws -> ModelConfiguration {
            let text = base.replacingOccurrences(of: "%@", with: extra)
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            return try ModelConfiguration(json: json, name: "options")
        }
        let refused: [(key: String, json: String)] = [
            ("class_token", #""class_token": false"#), ("global_pool", #""global_pool": "avg""#),
            ("reg_tokens", #""reg_tokens": 4"#), ("fc_norm", #""fc_norm": true"#),
        ]
        for (key, json) in refused {
            XCTAssertThrowsError(try configuration(json), key) { error in
                guard case ModelConfigurationError.unsupportedOption(let name, _, _)? = error as? ModelConfigurationError else {
                    return XCTFail("\(key): expected unsupportedOption, got \(error)")
                }
                XCTAssertEqual(name, key)
            }
        }
        // timm's defaults, spelled out, are accepted.
        XCTAssertNoThrow(try configuration(#""class_token": true, "global_pool": "token", "reg_tokens": 0, "init_values": null"#))
    }

    /// Full-size check (set ABSLRP_FULL_SIZE=1; run in release): vit_base_patch16_224
    /// with random weights, absLRP on one 224x224 image.
    func testFullSizeVitBase() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["ABSLRP_FULL_SIZE"] == "1", "set ABSLRP_FULL_SIZE=1")
        try runFullSize(batch: 1)
    }

    /// The same at batch 4, reporting the process's peak resident memory.
    func testFullSizeVitBaseBatch4() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["ABSLRP_FULL_SIZE"] == "1", "set ABSLRP_FULL_SIZE=1")
        try runFullSize(batch: 4)
    }

    private func runFullSize(batch: Int) throws {
        let configuration = try ModelConfiguration(timmName: "vit_base_patch16_224")
        let classifier = Classifier(configuration: configuration)
        classifier.randomizeWeights(seed: 7)
        var rng = SplitMix64(seed: 11)
        let input = Tensor(shape: [batch, 3, 224, 224]) { _ in rng.nextNormal() }
        let method = AbsLRP(classifier: classifier)
        let start = Date()
        let explanation = try method.explain(input)
        let seconds = Date().timeIntervalSince(start)
        print("[vit_base_patch16_224] batch \(batch): absLRP (forward + 2 relevance passes) \(String(format: "%.2f", seconds)) s, "
              + "peak RSS \(peakResidentMegabytes().map { "\($0) MB" } ?? "unknown")")
        XCTAssertEqual(explanation.relevance.shape, [batch, 3, 224, 224])
        XCTAssertTrue(explanation.relevance.storage.allSatisfy(\.isFinite))
        XCTAssertTrue(explanation.extras["positive"]!.storage.allSatisfy(\.isFinite) && explanation.extras["negative"]!.storage.allSatisfy(\.isFinite))
        // normalize_max gives max |r| = m / (m + 1e-9); with random weights the
        // two passes nearly agree, so m can be ~1e-9 and the max below 1.
        let maxRelevance = explanation.relevance.storage.map(abs).max()!
        XCTAssertTrue(maxRelevance > 0 && maxRelevance <= 1, "max |relevance| \(maxRelevance)")
        for pass in [explanation.extras["positive"]!, explanation.extras["negative"]!] {
            for b in 0..<batch {
                XCTAssertEqual(pass.batchSlice(b..<(b + 1)).storage.reduce(0) { $0 + Double(abs($1)) }, 1, accuracy: 1e-3)
            }
        }
    }

    /// `VmHWM` of /proc/self/status in MB (Linux), nil elsewhere.
    private func peakResidentMegabytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}

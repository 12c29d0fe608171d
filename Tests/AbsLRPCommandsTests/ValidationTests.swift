import AbsLRPCore
import ArgumentParser
import XCTest
@testable import AbsLRPCommands
import GAE

/// Every validation error of the command line, run in process
/// (`AbsLRPTool.parseAsRoot`), as swift-argument-parser's own example tests
/// do: each bad value is refused before anything runs, with a message that
/// names the option.
final class ValidationTests: XCTestCase {
    /// Parses `arguments`, expects a refusal whose message contains `expected`.
    func assertRefused(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try AbsLRPTool.parseAsRoot(arguments)
            XCTFail("\(arguments.joined(separator: " ")) was accepted", file: file, line: line)
        } catch {
            let message = AbsLRPTool.message(for: error)
            XCTAssertTrue(message.contains(expected), "\(arguments.joined(separator: " ")): \(message)", file: file, line: line)
            XCTAssertNotEqual(AbsLRPTool.exitCode(for: error), .success, file: file, line: line)
        }
    }

    func testEvaluateRefusesBadSettings() {
        assertRefused(["evaluate", "--batch-size", "6"], "--batch-size must be a positive multiple of 4, got 6")
        assertRefused(["evaluate", "--batch-size", "0"], "--batch-size must be a positive multiple of 4, got 0")
        assertRefused(["evaluate", "--steps", "0"], "--steps must be between 1 and")
        assertRefused(["evaluate", "--top=-1"], "--top must be 0 or more, got -1")
        assertRefused(["evaluate", "--limit", "0"], "--limit must be positive")
        assertRefused(["evaluate", "--pairing", "random"], "The value 'random' is invalid for '--pairing")
        assertRefused(["evaluate", "--shard", "3/3"], "The value '3/3' is invalid for '--shard")
        assertRefused(["evaluate", "--shard", "1"], "The value '1' is invalid for '--shard")
        assertRefused(["evaluate", "--shard=-1/4"], "The value '-1/4' is invalid for '--shard")
        assertRefused(["evaluate", "--methods", "abslrp,deeplift"], "The value 'abslrp,deeplift' is invalid for '--methods")
        assertRefused(["explain", "x.png", "--method", "deeplift"],
                      "The value 'deeplift' is invalid for '--method <name>'. Please provide one of the following:\n"
                          + RelevancyMethods.names.map { "  - " + $0 }.joined(separator: "\n"))
    }

    /// The method options are one group: each command refuses the same values the same way.
    func testEveryCommandWithMethodsRefusesBadMethodOptions() {
        let commands = [["explain", "x.png"], ["evaluate"], ["check", "x.png"]]
        let cases: [([String], String)] = [
            (["--smoothgrad-samples", "0"], "--smoothgrad-samples must be between 1 and 10000, got 0"),
            (["--smoothgrad-samples", "\(Int.max)"], "--smoothgrad-samples must be between 1 and 10000, got \(Int.max)"),
            (["--smoothgrad-noise=-0.1"], "--smoothgrad-noise must be a finite value >= 0, got -0.1"),
            (["--smoothgrad-noise", "nan"], "--smoothgrad-noise must be a finite value >= 0, got nan"),
            (["--ig-steps", "1"], "--ig-steps must be between 2 and 10000, got 1"),
            (["--ig-steps", "10001"], "--ig-steps must be between 2 and 10000, got 10001"),
            (["--epsilon=-1"], "--epsilon must be a finite value >= 0, got -1.0"),
            (["--epsilon", "inf"], "--epsilon must be a finite value >= 0, got inf"),
            (["--gamma=-0.5"], "--gamma must be a finite value >= 0, got -0.5"),
            (["--seed=-1"], "The value '-1' is invalid for '--seed"),
            (["--composite", "lrp"], "The value 'lrp' is invalid for '--composite <name>'. Please provide one of the following:\n"
                + NamedComposites.names.map { "  - " + $0 }.joined(separator: "\n")),
            (["--composite", "EpsilonPlus"], "The value 'EpsilonPlus' is invalid for '--composite <name>'"),
        ]
        for command in commands {
            for (arguments, expected) in cases { assertRefused(command + arguments, expected) }
        }
    }

    func testInputAndModelOptionsAreRefused() {
        for command in ["explain", "check"] {
            assertRefused([command], "name image files or folders, or --tensor FILE")
            assertRefused([command, "x.png", "--tensor", "t.safetensors"], "give image files or --tensor, not both")
            assertRefused([command, "x.png", "--batch-size", "0"], "--batch-size must be at least 1")
            assertRefused([command, "x.png", "--max-pixels", "0"], "--max-pixels must be positive")
            assertRefused([command, "x.png", "--memory-limit", "0"], "--memory-limit must be a positive number of GB, got 0.0")
            assertRefused([command, "x.png", "--unknown"], "Unknown option '--unknown'")
        }
        assertRefused(["evaluate", "--memory-limit=-2"], "--memory-limit must be a positive number of GB, got -2.0")
    }

    func testBenchRefusesEmptyAndAbsurdRuns() {
        assertRefused(["bench", "--batch", "0"], "--batch must be between 1 and 1024, got 0")
        assertRefused(["bench", "--batch", "\(Int.max)"], "--batch must be between 1 and 1024")
        assertRefused(["bench", "--iterations", "0"], "--iterations must be between 1 and 10000, got 0")
        assertRefused(["bench", "--gae-steps", "0"], "--gae-steps must be between 1 and 1000, got 0")
    }

    func testSizesNearIntMaxAreRefusedNotTrapped() {
        assertRefused(["evaluate", "--steps", "\(Int.max)"], "--steps must be between 1 and 1000")
        assertRefused(["evaluate", "--top=-1"], "--top must be 0 or more, got -1")
    }

    /// `explain --batch-size Int.max` is one batch (it trapped multiplying the batch size for the progress line).
    func testExplainWithABatchSizeNearIntMaxRuns() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-int-max-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let explain = try XCTUnwrap(try AbsLRPTool.parseAsRoot(
            ["explain", repository.appendingPathComponent("Samples/07_sneaker.png").path, "--method", "random",
             "--batch-size", "\(Int.max)", "--out", out.path]) as? ExplainCommand)
        try explain.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("index.html").path))
        XCTAssertEqual(ProgressLine(start: Date(), batchSize: Int.max).minimumTotal, Int.max)
        XCTAssertEqual(ProgressLine(start: Date(), batchSize: 8).minimumTotal, 24)
    }

    /// A model file whose statistics give z-box no box (std 1e-40, a float32
    /// subnormal: `(0 - mean) / std` and `(1 - mean) / std` overflow to
    /// -inf and inf) makes `lrp-epsilon-gamma-box` a clear error before any image.
    func testZBoxBoundsFromAModelFileThatGiveNoBoxAreAClearError() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("abslrp-z-box-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = repository.appendingPathComponent("Weights/vgg_fmnist")
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: weights.appendingPathExtension("json")))
            as? [String: Any])
        json["std"] = [1e-40]
        let config = folder.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        let explain = try XCTUnwrap(try AbsLRPTool.parseAsRoot(
            ["explain", repository.appendingPathComponent("Samples/07_sneaker.png").path, "--method", "lrp-epsilon-gamma-box",
             "--config", config.path, "--weights", weights.appendingPathExtension("safetensors").path,
             "--out", folder.appendingPathComponent("out").path]) as? ExplainCommand)
        XCTAssertThrowsError(try explain.run()) { error in
            XCTAssertEqual(AbsLRPTool.message(for: error),
                           "invalid z-box bounds: need finite bounds with low < high, got low -inf, high inf for "
                               + "channel 0 (the input range [0, 1] through the model's mean [0.286] and std [1e-40])")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/index.html").path))
    }

    func testGoodArgumentsParseIntoTheirTypes() throws {
        let evaluate = try XCTUnwrap(try AbsLRPTool.parseAsRoot(
            ["evaluate", "--methods", "abslrp,gradient", "random", "--shard", "3/16", "--pairing", "reference",
             "--seed", "7", "--epsilon", "0.25", "--gamma", "0.5", "--ig-steps", "5"]) as? EvaluateCommand)
        XCTAssertEqual(MethodList.joined(evaluate.methods).names, ["abslrp", "gradient", "random"])
        XCTAssertEqual(evaluate.shard, Shard(index: 3, count: 16))
        XCTAssertEqual(evaluate.pairing, .reference)
        let options = evaluate.methodOptions.relevancyMethodOptions
        XCTAssertEqual(options.seed, 7)
        XCTAssertEqual(options.lrpEpsilon, 0.25)
        XCTAssertEqual(options.lrpGamma, 0.5)
        XCTAssertEqual(options.integratedGradientsSteps, 5)
        let check = try XCTUnwrap(try AbsLRPTool.parseAsRoot(["check", "x.png", "--methods", "all", "--seed", "3"]) as? CheckCommand)
        XCTAssertNil(MethodList.joined(check.methods).names)
        XCTAssertEqual(check.methodOptions.seed, 3)
        let explain = try XCTUnwrap(try AbsLRPTool.parseAsRoot(["explain", "x.png", "--smoothgrad-samples", "4"]) as? ExplainCommand)
        XCTAssertEqual(explain.methodOptions.relevancyMethodOptions.smoothGradSamples, 4)
        XCTAssertNil(explain.methodOptions.relevancyMethodOptions.abslrpComposite)
        XCTAssertEqual(explain.method.name, "abslrp")
        let named = try XCTUnwrap(try AbsLRPTool.parseAsRoot(["explain", "x.png", "--method", "SmoothGrad"]) as? ExplainCommand)
        XCTAssertEqual(named.method.name, "smoothgrad")
    }

    /// `--composite` reaches the abslrp method of every command, and `--seed`
    /// the methods with randomness (SmoothGrad's noise, random's stream; integrated
    /// gradients has none), through the one method-option group.
    func testCompositeAndSeedReachTheMethods() throws {
        for command in [["explain", "x.png"], ["evaluate"], ["check", "x.png"]] {
            let arguments = command + ["--model", "resnet_fmnist", "--composite", "epsilon-plus", "--seed", "7"]
            let parsed = try AbsLRPTool.parseAsRoot(arguments)
            let (model, options): (ModelOptions, MethodOptions)
            switch parsed {
            case let c as ExplainCommand: (model, options) = (c.modelOptions, c.methodOptions)
            case let c as EvaluateCommand: (model, options) = (c.modelOptions, c.methodOptions)
            case let c as CheckCommand: (model, options) = (c.modelOptions, c.methodOptions)
            default: return XCTFail("\(arguments): \(parsed)")
            }
            let classifier = try model.load()
            let o = options.relevancyMethodOptions
            let abslrp = try XCTUnwrap(try RelevancyMethods.make("abslrp", classifier: classifier, options: o) as? AbsLRP)
            XCTAssertEqual(abslrp.name, "abslrp:epsilon-plus", "\(command)")
            XCTAssertTrue(abslrp.canonized !== classifier, "Zennit's composites run on the BatchNorm-merged copy")
            XCTAssertEqual((try RelevancyMethods.make("smoothgrad", classifier: classifier, options: o) as? SmoothGrad)?.seed, 7)
            XCTAssertEqual((try RelevancyMethods.make("random", classifier: classifier, options: o) as? RandomRelevance)?.seed, 7)
        }
    }
}

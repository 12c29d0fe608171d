import ArgumentParser
import AbsLRPCore
import GAE
import Foundation

/// `abslrp bench`: seconds per image, GFLOP/s and the fraction of this
/// machine's limit, on random weights (no file needed).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the forward pass and a relevancy method on random weights.",
        discussion: "Build with `swift build -c release` first; debug builds are many times slower.")

    @Option(name: .long, help: ArgumentHelp("A timm preset (e.g. resnet50, vgg16, vit_base_patch16_224) or a bundled model.",
                                            valueName: "name"))
    var model = "resnet50"

    @Option(name: .long, help: ArgumentHelp("timm-keyed safetensors weights for the preset (default: random weights).",
                                            valueName: "file"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp("A safetensors file whose `input` tensor (B, C, H, W) is the batch (default: --batch random images).",
                                            valueName: "file"))
    var tensor: String?

    @Option(name: .long, help: "Images per batch (random inputs).")
    var batch = 4

    @Option(name: .long, help: "Timed repetitions (the median is reported).")
    var iterations = 3

    @Option(name: .long, help: "Relevancy method.")
    var method = "abslrp"

    @Option(name: .long, help: "Masking steps of the GAE limit (the report's `gae`).")
    var gaeSteps = 10

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        try refuseEmptyPaths(["--weights": weights, "--tensor": tensor])
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024, got \(batch)") }
        guard (1...10_000).contains(iterations) else {
            throw ValidationError("--iterations must be between 1 and 10000, got \(iterations)")
        }
        guard (1...GAEConfiguration.maximumSteps).contains(gaeSteps) else {
            throw ValidationError("--gae-steps must be between 1 and \(GAEConfiguration.maximumSteps), got \(gaeSteps)")
        }
    }

    func run() throws {
        let input = try tensor.map { try SafetensorsFile(contentsOf: URL(fileURLWithPath: $0)).tensor("input") }
        var bench = ModelBenchmark(model: model, batch: batch, iterations: iterations, method: method,
                                   weights: weights.map { URL(fileURLWithPath: $0) }, input: input)
        bench.gaeSteps = gaeSteps
        let report = try bench.run { FileHandle.standardError.write("bench: \($0)\n".data(using: .utf8)!) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let (p, e, g) = (report.products, report.shapeExact, report.gae)
        func f(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }
        print("""
            \(report.model), \(report.method), batch \(report.batch), \(report.threads) BLAS threads (\(report.blasKernel) kernels), median of \(report.iterations)
              forward:    \(f(report.forwardSecondsPerImage)) s/image
              relevance:  \(f(report.relevanceSecondsPerImage)) s/image  (\(f(report.relevanceGFLOPS, 1)) GFLOP/s counted as the limit's FLOPs)
              products:   \(f(p.total, 1)) GFLOP/image = forward \(f(p.forward, 1)) + two relevance passes \(f(p.relevancePasses, 1)) (attention \(f(p.attentionInPasses, 1))) + shortcut-branch gradients \(f(p.shortcutBranchGradients, 1)); on Winograd \(f(p.winograd, 1)), counted as direct products
              limit:      \(f(report.limitSecondsPerImage)) s/image at the peak sgemm rate, \(f(report.peakSgemmGFLOPS, 1)) GFLOP/s (\(ModelBenchmark.peakSquareSize)^3)
              achieved:   \(f(100 * report.fractionOfLimit, 0))% of the limit\(report.fractionOfLimit > 1 ? " (above 100%: Winograd multiplies less than the direct products counted)" : "")
              shape-exact limit: \(f(e.absLRPSecondsPerImage)) s/image (\(f(e.absLRPGFLOPS, 1)) GFLOP/s) = forward \(f(e.forwardSecondsPerImage)) (\(f(e.forwardGFLOPS, 1)) GFLOP/s) + passes \(f(e.passesSecondsPerImage)) (\(f(e.passesGFLOPS, 1)) GFLOP/s); \(e.distinctProducts) shapes timed in \(f(e.measurementSeconds, 1)) s
              achieved:   \(f(100 * report.fractionOfShapeExactLimit, 0))% of it (forward \(f(100 * report.forwardFractionOfShapeExactLimit, 0))%)
              GAE limit:  \(f(g.limitImagesPerSecond, 3)) images/s (\(g.steps) steps, \(f(g.gflopPerImage, 0)) GFLOP/image; input gradient \(f(e.inputGradientSecondsPerImage)) s/image)
              most time in the passes: \(e.passProducts.prefix(3).map { "\($0.product) x\($0.occurrences) at \(f($0.gflops, 0)) GFLOP/s" }.joined(separator: ", "))
              peak RSS:   \(f(Double(report.peakResidentBytes) / 1e9, 2)) GB
            """)
    }
}

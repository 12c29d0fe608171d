import ArgumentParser
import AbsLRPCore
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

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        try refuseEmptyPaths(["--weights": weights, "--tensor": tensor])
        guard (1...1024).contains(batch) else { throw ValidationError("--batch must be between 1 and 1024, got \(batch)") }
        guard (1...10_000).contains(iterations) else {
            throw ValidationError("--iterations must be between 1 and 10000, got \(iterations)")
        }
    }

    func run() throws {
        let input = try tensor.map { try SafetensorsFile(contentsOf: URL(fileURLWithPath: $0)).tensor("input") }
        let bench = ModelBenchmark(model: model, batch: batch, iterations: iterations, method: method,
                                   weights: weights.map { URL(fileURLWithPath: $0) }, input: input)
        let report = try bench.run { FileHandle.standardError.write("bench: \($0)\n".data(using: .utf8)!) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let p = report.products
        func f(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }
        print("""
            \(report.model), \(report.method), batch \(report.batch), \(report.threads) BLAS threads (\(report.blasKernel) kernels), median of \(report.iterations)
              forward:    \(f(report.forwardSecondsPerImage)) s/image
              relevance:  \(f(report.relevanceSecondsPerImage)) s/image  (\(f(report.relevanceGFLOPS, 1)) GFLOP/s counted as the limit's FLOPs)
              products:   \(f(p.total, 1)) GFLOP/image = forward \(f(p.forward, 1)) + two relevance passes \(f(p.relevancePasses, 1)) (attention \(f(p.attentionInPasses, 1))) + shortcut-branch gradients \(f(p.shortcutBranchGradients, 1))
              limit:      \(f(report.limitSecondsPerImage)) s/image at the peak sgemm rate, \(f(report.peakSgemmGFLOPS, 1)) GFLOP/s (\(ModelBenchmark.peakSquareSize)^3; \(f(report.modelShapesSgemmGFLOPS, 1)) on the model's shapes)
              achieved:   \(f(100 * report.fractionOfLimit, 0))% of the limit
              peak RSS:   \(f(Double(report.peakResidentBytes) / 1e9, 2)) GB
            """)
    }
}

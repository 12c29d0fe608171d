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

    @Option(name: .long, help: "Images per batch.")
    var batch = 4

    @Option(name: .long, help: "Timed repetitions (the median is reported).")
    var iterations = 3

    @Option(name: .long, help: "Relevancy method.")
    var method = "abslrp"

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be at least 1") }
        guard iterations > 0 else { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let bench = ModelBenchmark(model: model, batch: batch, iterations: iterations, method: method)
        let report = try bench.run { FileHandle.standardError.write("bench: \($0)\n".data(using: .utf8)!) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("""
            \(report.model), \(report.method), batch \(report.batch), \(report.threads) BLAS threads (\(report.blasKernel) kernels), median of \(report.iterations)
              forward:    \(String(format: "%.4f", report.forwardSecondsPerImage)) s/image
              relevance:  \(String(format: "%.4f", report.relevanceSecondsPerImage)) s/image  (\(String(format: "%.1f", report.relevanceGFLOPS)) GFLOP/s counted as the limit's FLOPs)
              limit:      \(String(format: "%.4f", report.limitSecondsPerImage)) s/image = \(String(format: "%.1f", report.limitGFLOPPerImage)) GFLOP / \(String(format: "%.1f", report.sgemmGFLOPS)) GFLOP/s sgemm on the model's shapes
              achieved:   \(String(format: "%.0f", 100 * report.fractionOfLimit))% of the limit
              peak RSS:   \(String(format: "%.2f", Double(report.peakResidentBytes) / 1e9)) GB
            """)
    }
}

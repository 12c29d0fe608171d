import ArgumentParser
import AbsLRPCore
import Foundation
import GAE

/// `abslrp evaluate`: GAE scores of relevancy methods on a data set.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score relevancy methods with GAE (local consistency, contrastiveness, GAE) on a data set.",
        discussion: """
            Writes results.json, results.csv, the summary chart gae_summary.svg/.png and a best/worst figure per \
            method to --out, and journal.gae, where every finished batch is recorded durably so that --resume \
            continues an interrupted run.
            Examples:
              abslrp evaluate --dataset fashion-mnist-test --limit 512 --methods abslrp,gradient,random
              abslrp evaluate --dataset images/ --model resnet50 --weights model.safetensors --shard 3/16 --out shard-3 --resume
            """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @Option(name: .long, help: ArgumentHelp(
        "An image folder (ImageFolder layout), a path,label CSV, a safetensors file (input, label), an "
            + "*images-idx3-ubyte[.gz] file, or fashion-mnist-test / fashion-mnist-train.", valueName: "path"))
    var dataset = "fashion-mnist-test"

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
        "Methods, comma- or space-separated: \(RelevancyMethods.names.joined(separator: ", ")); "
            + "`all` for every method that applies to the model.", valueName: "names"))
    var methods: [String] = ["abslrp"]

    @Option(name: .long, help: "Images per batch: a multiple of 4 (each 4 images make one mosaic).")
    var batchSize = 32

    @Option(name: .long, help: "Masking steps.")
    var steps = 10

    @Option(name: .long, help: "Seed of the shuffle and of the positive draws.")
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Use only the first N images of the data set.", valueName: "N"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp(
        "consistent (positive drawn among its mosaic's tiles; default) or reference (the published behaviour).",
        valueName: "pairing"))
    var pairing = "consistent"

    @Option(name: .long, help: ArgumentHelp("Evaluate the K-th of N disjoint parts (0-based), e.g. 3/16.", valueName: "K/N"))
    var shard = "0/1"

    @Option(name: .long, help: ArgumentHelp("Folder for the results and pictures.", valueName: "dir"))
    var out = "out/evaluate"

    @Option(name: .long, help: "Best and worst images shown per method.")
    var top = 4

    @Flag(name: .long, help: ArgumentHelp(
        "Continue the run recorded in --out's journal.gae after its last complete batch (a new run if there is none); "
            + "refuses a journal made with other settings. Without it, a new journal replaces any earlier one."))
    var resume = false

    @Flag(name: .long, help: ArgumentHelp(
        "Print the memory this run needs in MiB (an upper estimate from the model family and the settings) and exit "
            + "without evaluating; scripts/slurm/gae.sh asks for it."))
    var estimateMemory = false

    func validate() throws {
        guard batchSize > 0, batchSize % 4 == 0 else {
            throw ValidationError("--batch-size must be a positive multiple of 4, got \(batchSize)")
        }
        guard (1...GAEConfiguration.maximumSteps).contains(steps) else {
            throw ValidationError("--steps must be between 1 and \(GAEConfiguration.maximumSteps), got \(steps)")
        }
        guard top >= 0 else { throw ValidationError("--top must be 0 or more, got \(top)") }
        guard PositivePairing(rawValue: pairing) != nil else {
            throw ValidationError("--pairing must be consistent or reference, got \(pairing)")
        }
        _ = try parsedShard()
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func parsedShard() throws -> Shard {
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] > 0, (0..<parts[1]).contains(parts[0]) else {
            throw ValidationError("--shard takes K/N with 0 <= K < N, got \(shard)")
        }
        return Shard(index: parts[0], count: parts[1])
    }

    func run() throws {
        let classifier = try modelOptions.load()
        var names = methods.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            .filter { !$0.isEmpty }
        if names == ["all"] { names = RelevancyMethods.applicable(to: classifier) }
        let relevancyMethods = try GAEMethodCatalog.methods(named: names, classifier: classifier)
        let pipeline = preprocessingOptions.preprocessing
        var data: GAEDataset = try GAEDatasets.open(dataset, preprocessing: try classifier.configuration.preprocessing(pipeline))
        if let limit { data = PrefixDataset(base: data, count: min(limit, data.count)) }
        let configuration = GAEConfiguration(batchSize: batchSize, steps: steps, seed: seed,
                                             pairing: PositivePairing(rawValue: pairing)!, shard: try parsedShard())
        if estimateMemory {
            let mebibyte = 1 << 20
            print((configuration.estimatedBytes(model: classifier.configuration) + mebibyte - 1) / mebibyte)
            return
        }
        let evaluation = try GlobalAttributionEvaluation(classifier: classifier, methods: relevancyMethods,
                                                         configuration: configuration)
        let output = try RunOutput(folder: URL(fileURLWithPath: out))
        let journal = output.folder.appendingPathComponent(GAEJournal.fileName)  // lives in --out itself, not staged
        let report = try evaluation.run(on: data, progress: StandardErrorProgressReporter(),
                                        journal: resume ? .resume(journal) : .start(journal))
        let files = try report.write(to: output.staging)
        let pictures = try report.writePictures(to: output.staging, methods: relevancyMethods, dataset: data,
                                                preprocessing: (try? classifier.configuration.preprocessing(pipeline))
                                                    ?? classifier.configuration.displayPreprocessing, k: top,
                                                labelNames: classifier.configuration.labelNames)
        try output.write(report.reportPage(pictures: pictures, folder: output.staging,
                                           labelNames: classifier.configuration.labelNames).data, as: HTMLPage.fileName)
        try output.commit()
        for s in report.summary { if let w = s.localisationWarning { FileHandle.standardError.write(Data((w + "\n").utf8)) } }
        SummaryTable.print(report)
        print(String(format: "%d images in %.1f s (%.2f images/s)", report.throughput.images, report.throughput.seconds,
                     report.throughput.imagesPerSecond))
        print("results: \(output.destination(of: files.json).relativePath), \(output.destination(of: files.csv).relativePath)")
        print("pictures: \(pictures.files.map { output.destination(of: $0).relativePath }.joined(separator: ", "))")
    }
}

/// `abslrp merge`: one report from the shards' results.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Merge the results.json of GAE shards into the report of one run.")

    @Argument(help: ArgumentHelp("The shards' results.json files (or their folders).", valueName: "results"))
    var results: [String]

    @Option(name: .long, help: ArgumentHelp("Folder for the merged results.json, results.csv, gae_summary.svg/.png and index.html.", valueName: "dir"))
    var out = "out/merged"

    func run() throws {
        let files = results.map { path -> URL in
            var isDirectory: ObjCBool = false
            let url = URL(fileURLWithPath: path)
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return url.appendingPathComponent(GAEReport.jsonFileName)
            }
            return url
        }
        let output = try RunOutput(folder: URL(fileURLWithPath: out))
        let merged = try GAEReport.merge(files: files)
        let written = try merged.write(to: output.staging)
        let chart = try merged.writeSummaryChart(to: output.staging)
        try output.write(merged.reportPage(pictures: .init(summary: chart), folder: output.staging, labelNames: nil,
                                           notes: ["Merged from \(files.count) shard\(files.count == 1 ? "" : "s"): "
                                                   + files.map(\.path).joined(separator: ", ") + "."]).data,
                         as: HTMLPage.fileName)
        try output.commit()
        SummaryTable.print(merged)
        print("merged \(files.count) shard\(files.count == 1 ? "" : "s"): \(output.destination(of: written.json).relativePath), "
              + output.destination(of: written.csv).relativePath)
    }
}

/// The per-method summary as a text table.
enum SummaryTable {
    static func print(_ report: GAEReport) {
        Swift.print("method                     n   local consistency      contrastiveness        GAE")
        for s in report.summary {
            func cell(_ stat: GAEStatistic) -> String {
                let text: String
                if let mean = stat.mean, let low = stat.ci95Low, let high = stat.ci95High {
                    text = String(format: "%.4f ± %.4f", mean, (high - low) / 2)
                } else {
                    text = stat.mean.map { String(format: "%.4f", $0) } ?? "-"
                }
                return text.padding(toLength: 23, withPad: " ", startingAt: 0)
            }
            Swift.print(s.method.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%5d", s.count) + "   "
                        + cell(s.localConsistency) + cell(s.contrastiveness) + cell(s.gae))
        }
    }
}

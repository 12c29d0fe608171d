import ArgumentParser
import AbsLRPCore
import Foundation

/// `abslrp explain`: relevance maps for images or a preprocessed batch.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a model's predictions: heatmaps as PNG, relevance as safetensors, top-5 classes.",
        discussion: """
            Examples:
              abslrp explain Samples/*.png --out out/explain
              abslrp explain photo.jpg --model resnet50 --weights model.safetensors --config config.json --overlay
              abslrp explain --tensor batch.safetensors --target 3 --save-relevance relevance.safetensors
              abslrp explain Samples/05_sandal.png --target Sandal,Sneaker --target 7
              abslrp explain Samples --top-k 3 --json
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @OptionGroup var methodOptions: MethodOptions

    @Option(name: .long, help: ArgumentHelp("Relevancy method.", valueName: "name"))
    var method = MethodName(name: "abslrp")

    @Option(name: .long, help: ArgumentHelp(
        "Explain these classes for every image: indices or class names, comma-separated; repeated --target adds "
            + "classes, each explained once (default: each image's top class).", valueName: "classes"))
    var target: [String] = []

    @Option(name: .long, help: ArgumentHelp("Explain each image's K most probable classes.", valueName: "K"))
    var topK: Int?

    @Flag(name: .long, help: "Print one JSON line per image (file, top-5 with indices, targets, output paths) instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Folder for the PNG pictures.", valueName: "dir"))
    var out = "out/explain"

    @Flag(name: .long, help: "Draw the heatmap over the image instead of beside it.")
    var overlay = false

    @Option(name: .long, help: ArgumentHelp("Also write input, logits, target and relevance to this safetensors file.",
                                            valueName: "file"))
    var saveRelevance: String?

    func validate() throws {
        try refuseEmptyPaths(["--out": out, "--save-relevance": saveRelevance])
        if !target.isEmpty && topK != nil { throw ValidationError("give --target or --top-k, not both") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        for value in target where value.split(separator: ",", omittingEmptySubsequences: false)
            .contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--target '\(value)' has an empty class: give indices or class names separated by commas")
        }
    }

    /// The classes of every `--target` value, in order, each index or name resolved against the model.
    func targetSelection(for configuration: ModelConfiguration) throws -> ExplainJob.TargetSelection {
        if let topK { return .topK(topK) }
        if target.isEmpty { return .predicted }
        let names = target.flatMap { $0.split(separator: ",").map(String.init) }
        var seen = Set<Int>()
        return .classes(try names.map { name -> Int in
            guard let index = configuration.classIndex(named: name) else {
                let known = configuration.classNames.map { ": the model's classes are " + $0.prefix(12).joined(separator: ", ")
                    + ($0.count > 12 ? ", ..." : "") } ?? " (this model has no class names: use an index)"
                throw ValidationError("--target '\(name)' is neither a class index nor a class name\(known)")
            }
            return index
        }.filter { seen.insert($0).inserted })  // a class named twice (`Sneaker` and `7`) is explained once
    }

    func run() throws {
        let classifier = try modelOptions.load()
        let method = try RelevancyMethods.make(self.method.name, classifier: classifier, options: methodOptions.relevancyMethodOptions)
        let job = ExplainJob(source: try inputs.source(), method: method,
                             targets: try targetSelection(for: classifier.configuration), batchSize: inputs.batchSize,
                             outputDirectory: URL(fileURLWithPath: out), overlay: overlay,
                             relevanceFile: saveRelevance.map { URL(fileURLWithPath: $0) }, maxPixels: inputs.maxPixels,
                             preprocessing: preprocessingOptions.preprocessing)
        let start = Date()
        let progress = ProgressLine(start: start, batchSize: inputs.batchSize)
        let results = try job.run(progress: progress.report)
        let configuration = classifier.configuration
        for r in results { if let warning = r.warning { FileHandle.standardError.write(Data("\(warning)\n".utf8)) } }
        let perImage = Dictionary(grouping: results, by: \.source)
        var printed = Set<String>()
        for r in results where printed.insert(r.source).inserted {
            let rows = perImage[r.source]!
            if json {
                print(ExplainLine(source: r.source, name: r.name, predictions: r.predictions, rows: rows,
                                  configuration: configuration).json)
                continue
            }
            let top = r.predictions.map { "\($0.label) (\($0.classIndex)) \(String(format: "%.1f%%", 100 * $0.probability))" }
            print("\(r.name): \(top.joined(separator: ", "))")
            for row in rows {
                print("  explained \(configuration.labelName(row.target)) (\(row.target))"
                      + (row.picture.map { " -> \($0.relativePath)" } ?? ""))
            }
        }
        let seconds = Date().timeIntervalSince(start)
        if !json {
            print(String(format: "%d image%@, %d map%@ with %@ on %@ in %.2f s", printed.count, printed.count == 1 ? "" : "s",
                         results.count, results.count == 1 ? "" : "s", method.name, configuration.name, seconds))
        }
        if let file = saveRelevance, !json { print("relevance: \(file)") }
    }
}

/// One `--json` line: an image, its top-5 classes with indices, and every target with its picture.
struct ExplainLine: Encodable {
    struct Class: Encodable {
        var index: Int
        var name: String
        var probability: Float
    }
    struct Output: Encodable {
        var target: Int
        var targetName: String
        var picture: String?
        var warning: String?
    }
    var file: String
    var name: String
    var top5: [Class]
    var targets: [Int]
    var outputs: [Output]

    init(source: String, name: String, predictions: [Prediction], rows: [ExplainJob.Result], configuration: ModelConfiguration) {
        file = source
        self.name = name
        top5 = predictions.map { Class(index: $0.classIndex, name: $0.label, probability: $0.probability) }
        targets = rows.map(\.target)
        outputs = rows.map { row in
            Output(target: row.target, targetName: configuration.labelName(row.target),
                   picture: row.picture?.path, warning: row.warning.map { "\($0)" })
        }
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// `explained 16/40 (40%), 3.1 images/s, ETA 8 s` on standard error after
/// each batch, when there are more than three batches.
final class ProgressLine {
    let start: Date
    /// Totals up to this many images print nothing (three batches; any `--batch-size` without overflow).
    let minimumTotal: Int

    init(start: Date, batchSize: Int) {
        self.start = start
        let (threeBatches, overflow) = batchSize.multipliedReportingOverflow(by: 3)
        minimumTotal = overflow ? .max : threeBatches
    }

    func report(_ done: Int, _ total: Int) {
        guard total > minimumTotal else { return }
        let elapsed = Date().timeIntervalSince(start), rate = Double(done) / max(elapsed, 1e-9)
        let eta = done < total ? String(format: ", ETA %.0f s", Double(total - done) / max(rate, 1e-9)) : ", done"
        FileHandle.standardError.write(Data(String(format: "explained %d/%d (%.0f%%), %.2f images/s%@\n", done, total,
                                                   100 * Double(done) / Double(total), rate, eta).utf8))
    }
}

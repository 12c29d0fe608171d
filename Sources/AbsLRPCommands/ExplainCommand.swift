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
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @OptionGroup var methodOptions: MethodOptions

    @Option(name: .long, help: ArgumentHelp("Relevancy method: \(RelevancyMethods.names.joined(separator: ", ")).",
                                            valueName: "name"))
    var method = "abslrp"

    @Option(name: .long, help: ArgumentHelp("Explain this class for every image (default: each image's top class).",
                                            valueName: "class"))
    var target: Int?

    @Option(name: .long, help: ArgumentHelp("Folder for the PNG pictures.", valueName: "dir"))
    var out = "out/explain"

    @Flag(name: .long, help: "Draw the heatmap over the image instead of beside it.")
    var overlay = false

    @Option(name: .long, help: ArgumentHelp("Also write input, logits, target and relevance to this safetensors file.",
                                            valueName: "file"))
    var saveRelevance: String?

    func run() throws {
        let classifier = try modelOptions.load()
        let method = try RelevancyMethods.make(self.method, classifier: classifier, options: methodOptions.relevancyMethodOptions)
        let job = ExplainJob(source: try inputs.source(), method: method, target: target, batchSize: inputs.batchSize,
                             outputDirectory: URL(fileURLWithPath: out), overlay: overlay,
                             relevanceFile: saveRelevance.map { URL(fileURLWithPath: $0) }, maxPixels: inputs.maxPixels,
                             preprocessing: preprocessingOptions.preprocessing)
        let start = Date()
        let results = try job.run { done, total in
            if total > inputs.batchSize { FileHandle.standardError.write("explained \(done)/\(total)\n".data(using: .utf8)!) }
        }
        for r in results {
            if let warning = r.warning { FileHandle.standardError.write("\(warning)\n".data(using: .utf8)!) }
            let top = r.predictions.map { "\($0.label) \(String(format: "%.1f%%", 100 * $0.probability))" }
            print("\(r.name): \(top.joined(separator: ", "))  [explained: \(classifier.configuration.labelName(r.target))]"
                  + (r.picture.map { " -> \($0.relativePath)" } ?? ""))
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "%d image%@ explained with %@ on %@ in %.2f s", results.count, results.count == 1 ? "" : "s",
                     method.name, classifier.configuration.name, seconds))
        if let file = saveRelevance { print("relevance: \(file)") }
    }
}

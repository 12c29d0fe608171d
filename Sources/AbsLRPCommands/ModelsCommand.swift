import ArgumentParser
import AbsLRPCore

/// `abslrp models`: the bundled models and every timm name of the model
/// families, supported or refused with the reason.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the bundled models and the timm model names, each supported or refused with the reason.")

    @Flag(name: .long, help: "List only the supported timm names.")
    var supported = false

    @Flag(name: .long, help: "Print the timm names as the README's Markdown list.")
    var markdown = false

    func run() throws {
        if markdown { return print(try TimmModels.shipped().markdownList()) }
        print("Bundled models (package resources, Weights/):")
        for name in try ModelCatalog.bundledModelNames() {
            let classifier = try ModelCatalog.load(model: name, weights: nil, config: nil)
            let c = classifier.configuration
            let marker = name == ModelCatalog.defaultModelName ? " (default)" : ""
            print("  \(name)\(marker): \(c.architecture.familyName), input \(c.inputSize), \(c.numClasses) classes, "
                  + Self.counts(parameters: classifier.network.parameterCount, buffers: classifier.network.bufferCount))
        }
        let table = try TimmModels.shipped()
        print("timm \(table.timmVersion) models (use with --weights FILE; NAME or NAME.TAG):")
        for entry in table.models {
            switch table.status(of: entry) {
            case .supported:
                print("  \(entry.name): supported, \(entry.timmClass), "
                      + Self.counts(parameters: entry.parameters, buffers: entry.buffers))
            case .refused(let reason) where !supported:
                print("  \(entry.name): refused, \(reason)")
            case .refused:
                break
            }
        }
    }

    /// `25557032 parameters, 53120 buffer values (running statistics)`, as PyTorch counts them.
    static func counts(parameters: Int, buffers: Int) -> String {
        "\(parameters) parameters" + (buffers > 0 ? ", \(buffers) buffer values (running statistics)" : "")
    }
}

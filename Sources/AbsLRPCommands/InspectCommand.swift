import ArgumentParser
import AbsLRPCore
import Foundation

/// `abslrp inspect FILE`: what a safetensors file holds, which timm names
/// (family, name, variant) it fits, and whether it fits a given model.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a safetensors file, the timm names it fits, and check it against a model.")

    @Argument(help: ArgumentHelp("A safetensors file.", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Check the file against this preset or bundled model.", valueName: "name"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp(
        "Check the file against this configuration file (default: a config.json beside the file, as the model hub ships it).",
        valueName: "file"))
    var config: String?

    func validate() throws { try refuseEmptyPaths(["the file argument": file, "--config": config]) }

    func run() throws {
        let url = URL(fileURLWithPath: file)
        let st = try SafetensorsFile(contentsOf: url)
        print("\(file): \(st.names.count) tensors")
        for (key, value) in st.metadata.sorted(by: { $0.key < $1.key }) {
            print("  metadata \(key) = \(value.count > 120 ? String(value.prefix(117)) + "..." : value)")
        }
        var total = 0
        for name in st.names {
            let (dtype, shape) = try st.info(name)
            total += shape.reduce(1, *)
            print("  \(name)  \(dtype.rawValue)  \(shape)")
        }
        print("  \(total) values")
        // The model hub's layout: config.json beside model.safetensors.
        let besideConfig = url.deletingLastPathComponent().appendingPathComponent("config.json")
        let hubConfig = FileManager.default.fileExists(atPath: besideConfig.path) ? besideConfig : nil
        try printMatches(st)
        guard model != nil || config != nil || hubConfig != nil else { return }
        let configuration: ModelConfiguration
        if let config = config.map({ URL(fileURLWithPath: $0) }) ?? (model == nil ? hubConfig : nil) {
            configuration = try ModelConfiguration(contentsOf: config)
        } else if let name = model, try TimmModels.shipped().entry(named: name) != nil {
            configuration = try ModelConfiguration(timmName: name)
        } else {
            configuration = try ModelCatalog.load(model: model, weights: nil, config: nil).configuration
        }
        try Classifier(configuration: configuration).loadWeights(from: url)
        print("fits \(configuration.name) (\(configuration.architecture.familyName)): every key present with the right shape")
        print("  configuration: model_args \(try configuration.architecture.modelArguments()), input \(configuration.inputSize)")
    }

    /// The timm names whose state dict the file is, or comes closest to.
    private func printMatches(_ st: SafetensorsFile) throws {
        let table = try TimmModels.shipped()
        let shapes = try st.names.map { (key: $0, shape: try st.info($0).shape) }
        let matches = table.matches(for: shapes)
        guard let first = matches.first else {
            return print("fits no timm name of the table (no VGG, ResNet or VisionTransformer name shares half of these keys)")
        }
        print(first.isExact ? "fits timm \(first.entry.timmClass) names (same keys and shapes):"
              : "closest timm \(first.entry.timmClass) names (\(first.differingKeys) keys and \(first.differingShapes) shapes differ: "
                + "another variant or head):")
        for match in matches {
            let entry = match.entry
            let family = ModelFamilies.family(timmClass: entry.timmClass)?.name ?? "no family"
            switch table.status(of: entry) {
            case .supported: print("  \(entry.name) (\(family)): supported")
            case .refused(let reason): print("  \(entry.name) (\(family)): refused, \(reason)")
            }
        }
    }
}

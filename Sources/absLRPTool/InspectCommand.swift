import ArgumentParser
import AbsLRPCore
import Foundation

/// `abslrp inspect FILE`: what a safetensors file holds, and whether it fits an architecture.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a safetensors file and check them against an architecture.")

    @Argument(help: ArgumentHelp("A safetensors file.", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("Check the file against this preset or bundled model.", valueName: "name"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("Check the file against this configuration file.", valueName: "file"))
    var config: String?

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
        guard model != nil || config != nil else { return }
        let configuration: ModelConfiguration
        if let config {
            configuration = try ModelConfiguration(contentsOf: URL(fileURLWithPath: config))
        } else if let name = model, try TimmModels.shipped().entry(named: name) != nil {
            configuration = try ModelConfiguration(timmName: name)
        } else {
            configuration = try ModelCatalog.load(model: model, weights: nil, config: nil).configuration
        }
        try Classifier(configuration: configuration).loadWeights(from: url)
        print("fits \(configuration.name) (\(configuration.architecture.familyName)): every key present with the right shape")
    }
}

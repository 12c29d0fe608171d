import ArgumentParser
import AbsLRPCore

/// `abslrp models`: the architectures this build runs and the bundled weights.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the supported architectures (timm presets) and the bundled models.")

    func run() throws {
        print("Bundled models (Weights/):")
        let bundled = ModelCatalog.bundledModelNames
        if bundled.isEmpty { print("  (none found; run from the checkout or set ABSLRP_WEIGHTS_DIR)") }
        for name in bundled {
            let classifier = try ModelCatalog.load(model: name, weights: nil, config: nil)
            let c = classifier.configuration
            let parameters = classifier.network.stateDictShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
            let marker = name == ModelCatalog.defaultModelName ? " (default)" : ""
            print("  \(name)\(marker): \(c.architecture.familyName), input \(c.inputSize), \(c.numClasses) classes, \(parameters) parameters")
        }
        print("timm presets (use with --weights FILE):")
        for name in ModelPresets.names {
            let c = ModelPresets.configuration(named: name)!
            print("  \(name): \(c.architecture.familyName), input \(c.inputSize)")
        }
    }
}

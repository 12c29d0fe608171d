import ArgumentParser
import AbsLRPCore
import Foundation

/// How a command picks its model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A bundled model (see `abslrp models`) or a timm preset with --weights. Default: the bundled ViT.",
        valueName: "name"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("timm-keyed safetensors weights (F32, F16 or BF16).", valueName: "file"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp(
        "Model configuration: the fixtures' form or timm's config.json (needs --weights).", valueName: "file"))
    var config: String?

    func load() throws -> Classifier {
        try ModelCatalog.load(model: model, weights: weights.map { URL(fileURLWithPath: $0) },
                              config: config.map { URL(fileURLWithPath: $0) })
    }
}

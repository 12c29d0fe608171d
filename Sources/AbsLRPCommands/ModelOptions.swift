import ArgumentParser
import AbsLRPCore
import Foundation

/// How a command picks its model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A bundled model (see `abslrp models`) or a timm model name (NAME or NAME.TAG) with --weights. Default: the bundled ViT.",
        valueName: "name"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("timm-keyed safetensors weights (F32, F16 or BF16).", valueName: "file"))
    var weights: String?

    @Option(name: .long, help: ArgumentHelp(
        "Model configuration: the fixtures' form or timm's config.json (needs --weights).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "Refuse models that would need more memory than this, in GB (default: $ABSLRP_MEMORY_LIMIT_GB or the machine's memory).",
        valueName: "GB"))
    var memoryLimit: Double?

    func validate() throws {
        try refuseEmptyPaths(["--weights": weights, "--config": config])
        if let memoryLimit, !(memoryLimit > 0 && memoryLimit < 1e9) {
            throw ValidationError("--memory-limit must be a positive number of GB, got \(memoryLimit)")
        }
    }

    /// The limit in bytes.
    var memoryLimitBytes: Int { memoryLimit.map { Int($0 * 1e9) } ?? ModelConfiguration.defaultMemoryLimit }

    func load() throws -> Classifier {
        try ModelCatalog.load(model: model, weights: weights.map { URL(fileURLWithPath: $0) },
                              config: config.map { URL(fileURLWithPath: $0) }, memoryLimit: memoryLimitBytes)
    }
}

import ArgumentParser

/// `abslrp`: explain image classifiers with absLRP and score explanation
/// methods with GAE. Each subcommand validates its options and calls the
/// libraries; errors print as one line and exit non-zero.
public struct AbsLRPTool: ParsableCommand {
    public init() {}

    /// What `abslrp --version` prints.
    public static let version = "abslrp 0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "abslrp",
        abstract: "Explain image classifiers with absLRP and evaluate explanations with GAE.",
        version: AbsLRPTool.version,
        subcommands: [ExplainCommand.self, EvaluateCommand.self, MergeCommand.self, ModelsCommand.self, InspectCommand.self, BenchCommand.self, CheckCommand.self],
        defaultSubcommand: nil)
}

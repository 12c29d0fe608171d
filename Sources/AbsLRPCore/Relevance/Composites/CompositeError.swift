/// A composite that puts a rule where it cannot run (z+ on a ReLU, the
/// pass rule on a pool), found when the composite is applied to a model
/// (``Composite/checkedRuleMap(for:)``: `AbsLRP` and `LayerwiseRelevance`
/// with a user's composite), before any pass.
public enum CompositeError: Error, Equatable, CustomStringConvertible {
    /// `rule` was given to the operation `operation` (of type `layer`), which
    /// it refuses for `reason` (``RelevanceRule/refusal(at:)``).
    case ruleDoesNotApply(operation: String, layer: String, rule: String, reason: String)

    public var description: String {
        switch self {
        case let .ruleDoesNotApply(operation, layer, rule, reason):
            return "the composite gives \(rule) to '\(operation)' (\(layer)), where it cannot run: \(reason); "
                + "map the rule to other layers (e.g. LayerKind.affine for Conv2d and Linear)"
        }
    }
}

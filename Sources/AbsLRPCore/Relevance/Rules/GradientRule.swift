/// The gradient: `g_i = J_i(x)^T g`, the true vector-Jacobian product
/// (`Operation.vjp`) of the unmodified operation. Zennit leaves every layer
/// that its composite does not map to this rule.
public struct GradientRule: RelevanceRule {
    public init() {}

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        operation.vjp(r, record)
    }
}

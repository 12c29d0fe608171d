/// The operation's output is taken as a constant: no relevance reaches its
/// inputs (`R_i = 0`). On the attention softmax this is CP-LRP (Ali et al.
/// 2022, "XAI for Transformers: Better Explanations through Conservative
/// Propagation"): relevance reaches the tokens through the values `v` of
/// `A @ v` only, none through `q k^T`; the attention weights `A` stay as
/// recorded, so `A @ v` still shares its relevance over `v`.
public struct ConstantRule: RelevanceRule {
    public init() {}

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        record.inputs.map { Tensor(shape: $0.shape) }
    }
}

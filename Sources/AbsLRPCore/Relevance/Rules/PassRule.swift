/// Relevance passes through unchanged (Zennit's `Pass`): `R_in = R`, for
/// single-input operations whose output has the input's size (activations,
/// normalisations, identities, the ViT's pass-through layers).
public struct PassRule: RelevanceRule {
    public init() {}

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        precondition(record.inputs.count == 1 && record.inputs[0].count == r.count,
                     "\(operation.name): the pass rule needs one input of the output's size")
        return [r.reshaped(record.inputs[0].shape)]
    }
}

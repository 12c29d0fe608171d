/// Relevance passes through unchanged (Zennit's `Pass`): `R_in = R`, for
/// single-input operations whose output has the input's size
/// (``SizePreserving``: activations, normalisations, identities, the ViT's
/// pass-through layers).
public struct PassRule: RelevanceRule {
    public init() {}

    /// Refuses every operation that does not declare that its output keeps
    /// its input's size (``SizePreserving``): operations of two inputs, the
    /// layers that change the size (affine layers, pools, the class-token
    /// pool) and layers of one's own that do not say.
    public func refusal(at operation: Operation) -> String? {
        guard !(operation is any SizePreserving) else { return nil }
        return "the pass rule needs one input of the output's size, which \(type(of: operation)) does not have "
            + "(a layer of one's own that keeps the size conforms to SizePreserving)"
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        precondition(record.inputs.count == 1 && record.inputs[0].count == r.count,
                     "\(operation.name): the pass rule needs one input of the output's size")
        return [r.reshaped(record.inputs[0].shape)]
    }
}

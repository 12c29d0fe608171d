/// Relevance passes through unchanged (Zennit's `Pass`): `R_in = R`, for
/// single-input operations whose output has the input's size (activations,
/// normalisations, identities, the ViT's pass-through layers).
public struct PassRule: RelevanceRule {
    public init() {}

    /// Refuses operations of two inputs and the layers that change the size
    /// (affine layers, pools, the class-token pool).
    public func refusal(at operation: Operation) -> String? {
        let resizing = operation is AffineLayer || operation is MaxPool2d || operation is AvgPool2d
            || operation is AdaptiveAvgPool2d || operation is BlurPool2d || operation is ClassTokenPool
        guard operation is BinaryOperation || resizing else { return nil }
        return "the pass rule needs one input of the output's size, which \(type(of: operation)) does not have"
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        precondition(record.inputs.count == 1 && record.inputs[0].count == r.count,
                     "\(operation.name): the pass rule needs one input of the output's size")
        return [r.reshaped(record.inputs[0].shape)]
    }
}

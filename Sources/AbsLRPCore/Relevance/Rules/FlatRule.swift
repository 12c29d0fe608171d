/// LRP-flat (Lapuschkin et al. 2019; Zennit's `Flat`), for `y = W x + b`
/// (Conv2d, Linear): relevance is spread uniformly over each output's
/// receptive field, whatever the input and weights:
///
///     z_j = sum_i 1        (over the inputs that reach output j; no bias)
///     R_i = sum_j R_j / stab(z_j)
///
/// with `stab(z) = z + eps sign z`.
public struct FlatRule: RelevanceRule {
    public var stabilizer: Float

    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }

    public func refusal(at operation: Operation) -> String? { operation.affineRefusal(rule: "flat") }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        [operation.affineLayer(for: "flat").onesInputRelevance(r, record, .ones, bias: nil, stabilizer: stabilizer)]
    }
}

/// LRP-w^2 (Montavon et al. 2017; Zennit's `WSquare`), for `y = W x + b`
/// (Conv2d, Linear): relevance is spread in proportion to the squared
/// weights, whatever the input:
///
///     z_j = sum_i w_ij^2 + b_j^2
///     R_i = sum_j w_ij^2 R_j / stab(z_j)
///
/// with `stab(z) = z + eps sign z`.
public struct WSquareRule: RelevanceRule {
    public var stabilizer: Float

    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }

    public func refusal(at operation: Operation) -> String? { operation.affineRefusal(rule: "w-square") }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "w-square")
        return [layer.onesInputRelevance(r, record, .squared, bias: layer.biasValues.map { $0 * $0 }, stabilizer: stabilizer)]
    }
}

/// LRP-z+ (Montavon et al. 2017, "Explaining Nonlinear Classification
/// Decisions with Deep Taylor Decomposition"; Zennit's `ZPlus`, alpha 1
/// beta 0 admitting negative inputs), for `y = W x + b` (Conv2d, Linear):
/// only positive contributions `x_i w_ij > 0` count,
///
///     z_j = sum_i (x_i^+ w_ij^+ + x_i^- w_ij^-) + b_j^+
///     R_i = sum_j (x_i^+ w_ij^+ + x_i^- w_ij^-) R_j / (z_j + eps sign z_j)
///
/// One forward and one backward product with `W^+` when the input is
/// nonnegative (after a ReLU), two of each otherwise.
public struct ZPlusRule: RelevanceRule {
    public var stabilizer: Float

    public init(stabilizer: Float = 1e-6) { self.stabilizer = stabilizer }

    public func refusal(at operation: Operation) -> String? { operation.affineRefusal(rule: "z+") }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "z+")
        let terms = signSplitTerms(record, positive: .positive, negative: .negative)
        let z = layer.modifiedOutput(terms, bias: layer.biasValues.map { max($0, 0) })
        return [layer.modifiedRelevance(stabilizedRatio(r, z, epsilon: stabilizer), terms)]
    }
}

/// LRP-epsilon (Bach et al. 2015; Zennit's `Epsilon`, and its `Norm` on
/// parameter-free layers), at any operation with inputs `x_i` and output `y`:
///
///     R_i = x_i * detachedVJP_i(R / (y + eps * sign(y)))        (sign(0) = 1)
///
/// For `y = W x + b` this is `R_i = sum_j x_i w_ij R_j / (z_j + eps sign z_j)`;
/// for average pools and additions, shares in proportion to the summands.
/// LayerNorm and softmax statistics are constants (`detachedVJP`), as CP-LRP
/// takes them. With `eps = 0` it is LRP-0.
public struct EpsilonRule: RelevanceRule {
    public var epsilon: Float

    public init(epsilon: Float = 1e-6) { self.epsilon = epsilon }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let s = stabilizedRatio(r, record.output, epsilon: epsilon)
        return zip(record.inputs, operation.detachedVJP(s, record)).map { $0 * $1 }
    }
}

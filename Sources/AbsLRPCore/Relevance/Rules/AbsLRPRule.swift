/// The absLRP rule (spec section 1), at any operation with inputs `x_i` and
/// output `y`:
///
///     S   = R / (|y| + 1e-9)            (S = R when !dividesRelevance)
///     R_i = normalize_sum(x_i * detachedVJP_i(S) + |x_i| * absoluteVJP_i(S))
///
/// (`x * sign(x) = |x|`, so the twin's `sign(x_i)` factor folds into `|x_i|`).
/// The contributions come from the layer's fused kernels
/// (`Operation.absLRPContributions`: one product for affine layers with a
/// nonnegative input, one pass for ReLU, BatchNorm, identities and max pools).
///
/// The reference's VGG does not divide at its max pools: its composite gives
/// them `AbsLRPRule(dividesRelevance: false)`.
public struct AbsLRPRule: RelevanceRule {
    /// Whether `R` is divided by `|y| + 1e-9` before the products.
    public var dividesRelevance: Bool

    public init(dividesRelevance: Bool = true) { self.dividesRelevance = dividesRelevance }

    public var normalizesRelevance: Bool { true }

    public func propagateUnnormalized(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        dividesRelevance ? operation.absLRPContributions(relevance: r, record)
                         : operation.absLRPContributions(r, record)
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        var contributions = propagateUnnormalized(r, at: operation, record)
        for i in contributions.indices { contributions[i].normalizeSum() }
        return contributions
    }

    /// The reference takes the absLRP gradient with autograd with respect to
    /// the tensors `a` and `b`; since `b` is an ancestor of `a`, the
    /// derivative for `b` is the total one, through the branch as well:
    ///
    ///     G_a = S + sign(a) S
    ///     G_b = S + sign(b) S + J_branch(b)^T G_a
    ///     R_a = normalize_sum(a G_a),  R_b = normalize_sum(b G_b)
    public func propagateIdentityShortcut(_ r: Tensor, at addition: ResidualAddition, _ record: Record,
                                          branchVJP: (Tensor) -> Tensor) -> [Tensor] {
        let s = dividesRelevance ? r.zipMap(record.output, AbsoluteRatio(epsilon: relevanceEpsilon)) : r
        let g = addition.absLRPGradients(s, record)
        let gb = g[1] + branchVJP(g[0])
        return [(record.inputs[0] * g[0]).normalizedSum(), (record.inputs[1] * gb).normalizedSum()]
    }
}

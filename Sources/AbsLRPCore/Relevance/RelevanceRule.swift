/// How a value at an operation's output (a relevance, or a gradient) becomes
/// a value at each of its inputs: one step of the backward walk.
///
/// A rule is a value. The backward walk (`Operation.propagate`) looks up the
/// rule of every operation in the `RuleMap` that its `BackwardContext`
/// carries and applies it to the operation's `Record`. Rules are written once
/// in terms of what every operation supplies (`vjp`, `detachedVJP`,
/// `absoluteVJP`, `Record`), and call the fused kernels that layers offer as
/// capabilities (`Operation.absLRPContributions`, the affine layers' products
/// with derived weights) where those compute the same quantity faster.
///
/// Every rule lives in `Relevance/Rules/`, one file each, and is tested against
/// its definition on every layer type it applies to (`RuleMatrixTests`).
public protocol RelevanceRule: Sendable {
    /// The value at each input of `operation` from `r` at its output, over
    /// what the forward pass recorded (`record.output.shape == r.shape`).
    func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor]

    /// Whether `propagate` ends with a per-sample normalisation of a result
    /// that is linear in `r`: then the result is the same, up to rounding,
    /// for `r` and for `r` times any positive per-sample scale, and a
    /// normalisation right before this rule is redundant (see
    /// `BackwardContext.backward(through:_:)`). False unless overridden.
    var normalizesRelevance: Bool { get }

    /// `propagate` without its closing normalisation; asked only of rules
    /// whose `normalizesRelevance` is true, whose consumer renormalises.
    func propagateUnnormalized(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor]

    /// The rule at a residual addition `y = a + b` whose shortcut `b` is
    /// itself the input of the branch that computed `a` (`branchVJP` applies
    /// the branch's detached Jacobian transpose). `propagate` unless the rule
    /// says otherwise (absLRP takes the total derivative, see `AbsLRPRule`).
    func propagateIdentityShortcut(_ r: Tensor, at addition: ResidualAddition, _ record: Record,
                                   branchVJP: (Tensor) -> Tensor) -> [Tensor]

    /// Why the rule cannot run at `operation` (nil: it can): a rule defined
    /// on `y = W x + b` only (z+, alpha-beta, ...) refuses every other layer.
    /// Asked of every operation when a composite is applied
    /// (``Composite/checkedRuleMap(for:)``), so a rule placed where it has no
    /// meaning is a thrown ``CompositeError`` before any pass. Nil unless overridden.
    func refusal(at operation: Operation) -> String?
}

extension RelevanceRule {
    public var normalizesRelevance: Bool { false }

    public func propagateUnnormalized(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        propagate(r, at: operation, record)
    }

    public func propagateIdentityShortcut(_ r: Tensor, at addition: ResidualAddition, _ record: Record,
                                          branchVJP: (Tensor) -> Tensor) -> [Tensor] {
        propagate(r, at: addition, record)
    }

    public func refusal(at operation: Operation) -> String? { nil }
}

/// Zennit's stabiliser: `z + eps * sign(z)` with sign(0) = 1, so
/// `r / stabilized(z)` never divides by zero and keeps the sign of `z`.
func stabilizedRatio(_ r: Tensor, _ z: Tensor, epsilon: Float) -> Tensor {
    r.zipMap(z, SignedRatio(epsilon: epsilon))
}

/// `r / (y + eps * sign(y))`, sign(0) = 1.
struct SignedRatio: ElementwiseFunction2 {
    let epsilon: Float
    func callAsFunction(_ r: Float, _ y: Float) -> Float { r / (y + (y >= 0 ? epsilon : -epsilon)) }
}

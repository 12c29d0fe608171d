/// Residual addition `y = a + b` (the reference's `residual_addition`),
/// with the absolute twin `|a| + |b|`. VJP: `(g, g)`. Relevance of each input
/// is normalised on its own, so absLRP gives `normalize_sum(2 relu(a) S)` and
/// `normalize_sum(2 relu(b) S)` when `a` and `b` come from separate branches.
public final class ResidualAddition: BinaryOperation {
    override public func apply(_ a: Tensor, _ b: Tensor) -> Tensor { a + b }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g, g] }

    /// Backward when the shortcut `b` is itself the input of the branch that
    /// computed `a = branch(b)` (identity shortcuts: ResNet blocks without
    /// downsample, both additions of every ViT block).
    ///
    /// The reference takes the absLRP gradient with autograd with respect to
    /// the tensors `a` and `b`; since `b` is an ancestor of `a`, the
    /// derivative for `b` is the total one, through the branch as well:
    ///
    ///     G_a = S + sign(a) S
    ///     G_b = S + sign(b) S + J_branch(b)^T G_a
    ///     R_a = normalize_sum(a G_a),  R_b = normalize_sum(b G_b)
    ///
    /// `branchVJP` applies `J_branch^T` (the detached gradient of the branch
    /// over the recorded forward). Every other mode is the plain backward.
    public func backwardIdentityShortcut(_ r: Tensor, _ context: BackwardContext,
                                         branchVJP: (Tensor) -> Tensor) -> (Tensor, Tensor) {
        guard context.mode == .absLRP else { return backward2(r, context) }
        let record = context.tape.record(for: self)
        let g = absLRPGradients(absLRPRatio(r, record), record)
        let gb = g[1] + branchVJP(g[0])
        let ra = (record.inputs[0] * g[0]).normalizedSum(), rb = (record.inputs[1] * gb).normalizedSum()
        context.trace(childName("0"), ra)
        context.trace(childName("1"), rb)
        return (ra, rb)
    }
}

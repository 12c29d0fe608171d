/// Residual addition `y = a + b` (the reference's `residual_addition`),
/// with the absolute twin `|a| + |b|`. VJP: `(g, g)`. Relevance of each input
/// is normalised on its own, so absLRP gives `normalize_sum(2 relu(a) S)` and
/// `normalize_sum(2 relu(b) S)` when `a` and `b` come from separate branches.
public final class ResidualAddition: BinaryOperation {
    override public func apply(_ a: Tensor, _ b: Tensor) -> Tensor { a + b }

    /// `ReLU(apply(a, b))` in one pass, bit for bit the two layers' result
    /// (the inference forward of a ResNet block's sum and final activation).
    func rectifiedSum(_ a: Tensor, _ b: Tensor) -> Tensor { a.zipMap(b, ReLU.RectifiedSum()) }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g, g] }

    /// Backward when the shortcut `b` is itself the input of the branch that
    /// computed `a = branch(b)` (identity shortcuts: ResNet blocks without
    /// downsample, both additions of every ViT block): the rule's
    /// `propagateIdentityShortcut`, given `branchVJP`, which applies
    /// `J_branch^T` (the detached gradient of the branch over the recorded
    /// forward; only absLRP's rule calls it).
    public func backwardIdentityShortcut(_ r: Tensor, _ context: BackwardContext,
                                         branchVJP: (Tensor) -> Tensor) -> (Tensor, Tensor) {
        let record = context.tape.record(for: self)
        precondition(r.shape == record.output.shape, "\(name): backward got \(r.shape), output was \(record.output.shape)")
        let result = context.rules[self].propagateIdentityShortcut(r, at: self, record, branchVJP: branchVJP)
        context.finished(with: self)
        context.trace(childName("0"), result[0])
        context.trace(childName("1"), result[1])
        return (result[0], result[1])
    }
}

/// The gradient of the reference's modified forward, in which LayerNorm and
/// softmax statistics are constants (`Operation.detachedVJP`; the true
/// gradient at every other layer). absLRP needs it where a residual
/// addition's shortcut is also the start of the branch it is added to
/// (`AbsLRPRule.propagateIdentityShortcut`).
public struct DetachedGradientRule: RelevanceRule {
    public init() {}

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        operation.detachedVJP(r, record)
    }
}

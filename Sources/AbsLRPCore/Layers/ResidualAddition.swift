/// Residual addition `y = a + b` (the reference's `residual_addition`),
/// with the absolute twin `|a| + |b|`. VJP: `(g, g)`. Relevance of each input
/// is normalised on its own, so absLRP gives `normalize_sum(2 relu(a) S)` and
/// `normalize_sum(2 relu(b) S)`.
public final class ResidualAddition: BinaryOperation {
    override public func apply(_ a: Tensor, _ b: Tensor) -> Tensor { a + b }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g, g] }
}

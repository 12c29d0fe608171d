/// `y = x` (`nn.Identity`), with the absolute twin `|x|`. Under absLRP's
/// generic rule it keeps relevance only where `x > 0`
/// (`R_in = normalize_sum(2 relu(x) S)`, VGG and ResNet); the Vision
/// Transformer's composite gives its identities the pass rule instead
/// (spec section 1). Gradients pass through.
public final class Identity: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g] }

    override func absLRPDiagonalPass(_ record: Record) -> DiagonalPass? { DiagonalPass(record, PositivePartRule()) }
}

/// Dropout in evaluation mode: `y = x`. Relevance always takes the generic
/// absLRP rule (it keeps relevance where `x > 0`), in every model family.
public final class Dropout: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g] }
    override func absLRPDiagonalPass(_ record: Record) -> DiagonalPass? { DiagonalPass(record, PositivePartRule()) }
}

/// `nn.Flatten(1)`: (B, C, 1, 1) or (B, ...) to (B, prod(...)).
public final class Flatten: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0], -1]) }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g.reshaped(record.inputs[0].shape)] }
}

/// `x + |x|`: the rule of layers whose function and twin are `x` and `|x|`.
struct PositivePartRule: UniformDiagonalRule {
    func callAsFunction(_ x: Float) -> Float { x + abs(x) }
}

/// `y = x` (`nn.Identity`), with the absolute twin `|x|`.
///
/// How relevance crosses it depends on the model family (spec section 1):
/// in VGG and ResNet models the generic absLRP rule applies, which keeps
/// relevance only where `x > 0` (`R_in = normalize_sum(2 relu(x) S)`); in
/// Vision Transformers relevance passes through untouched
/// (`passesRelevanceThrough`). Gradients always pass through.
public final class Identity: Layer {
    public let passesRelevanceThrough: Bool

    public init(name: String, passesRelevanceThrough: Bool) {
        self.passesRelevanceThrough = passesRelevanceThrough
        super.init(name: name)
    }

    override public func apply(_ x: Tensor) -> Tensor { x }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g] }

    override public func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        [diagonalContribution(r, record, PositivePartRule())]
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext, normalized: Bool) -> Tensor {
        if passesRelevanceThrough {
            context.trace(name, r)
            return r
        }
        return super.backward(r, context, normalized: normalized)
    }

    override public var renormalizesRelevance: Bool { !passesRelevanceThrough }
}

/// Dropout in evaluation mode: `y = x`. Relevance always takes the generic
/// absLRP rule (it keeps relevance where `x > 0`), in every model family.
public final class Dropout: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g] }
    override public func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        [diagonalContribution(r, record, PositivePartRule())]
    }
}

/// `nn.Flatten(1)`: (B, C, 1, 1) or (B, ...) to (B, prod(...)).
public final class Flatten: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0], -1]) }
    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g.reshaped(record.inputs[0].shape)] }
}

/// `x + |x|`: the rule of layers whose function and twin are `x` and `|x|`.
struct PositivePartRule: DiagonalRule {
    func callAsFunction(_ k: Int, _ x: Float) -> Float { x + abs(x) }
}

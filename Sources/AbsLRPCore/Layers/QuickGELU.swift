import Foundation

/// timm's `QuickGELU` (`act_layer='quick_gelu'`, OpenAI's CLIP), elementwise:
///
///     f(x)  = x * sigmoid(1.702 x)
///     f'(x) = sigmoid(1.702 x) * (1 + 1.702 x * (1 - sigmoid(1.702 x)))
///
/// - input and output: any shape.
/// - VJP `f'(x) * g`; absolute twin `f(|x|)`, VJP `f'(|x|) * s`; the absLRP
///   contribution is the generic `x f'(x) S + |x| f'(|x|) S`.
public final class QuickGELU: Layer {
    /// timm's factor 1.702.
    static let factor: Float = 1.702

    private static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-factor * x)) }

    private static func derivative(_ x: Float) -> Float {
        let s = sigmoid(x)
        return s * (1 + factor * x * (1 - s))
    }

    override public func apply(_ x: Tensor) -> Tensor { x.map { $0 * Self.sigmoid($0) } }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [record.inputs[0].zipMap(g) { x, g in g * Self.derivative(x) }]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [record.inputs[0].zipMap(s) { x, s in s * Self.derivative(abs(x)) }]
    }
}

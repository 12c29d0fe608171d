import Foundation

/// Exact (erf) Gaussian error linear unit (`nn.GELU()`), elementwise:
///
///     gelu(x)  = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
///     gelu'(x) = Phi(x) + x * phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
///
/// - input and output: any shape.
/// - VJP: `gelu'(x) * g`; absolute twin `gelu(|x|)`, VJP `gelu'(|x|) * s`.
/// - absLRP contribution: `x * gelu'(x) * S + |x| * gelu'(|x|) * S`.
///
/// Values are evaluated in Double and rounded, so they are within an ulp of
/// the exact function (PyTorch's float kernel is within a few ulps).
public final class GELU: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x.map(geluValue) }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [g.zipMap(record.inputs[0]) { gv, xv in gv * geluDerivative(xv) }]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [s.zipMap(record.inputs[0]) { sv, xv in sv * geluDerivative(abs(xv)) }]
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        [s.zipMap(record.inputs[0]) { sv, xv in
            sv * (xv * geluDerivative(xv) + abs(xv) * geluDerivative(abs(xv)))
        }]
    }
}

/// `0.5 x (1 + erf(x / sqrt 2))`.
@inline(__always)
func geluValue(_ x: Float) -> Float {
    let v = Double(x)
    return Float(0.5 * v * (1 + erf(v * 0.7071067811865476)))
}

/// `Phi(x) + x phi(x)`, the derivative of the exact GELU.
@inline(__always)
func geluDerivative(_ x: Float) -> Float {
    let v = Double(x)
    let cdf = 0.5 * (1 + erf(v * 0.7071067811865476))
    let pdf = exp(-0.5 * v * v) * 0.3989422804014327
    return Float(cdf + v * pdf)
}

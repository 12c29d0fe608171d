import Foundation

/// Exact (erf) Gaussian error linear unit (`nn.GELU()`), elementwise:
///
///     gelu(x)  = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
///     gelu'(x) = Phi(x) + x * phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
///
/// - input and output: any shape.
/// - VJP: `gelu'(x) * g`; absolute twin `gelu(|x|)`, VJP `gelu'(|x|) * s`.
/// - absLRP contribution: `x * gelu'(x) * S + |x| * gelu'(|x|) * S`. Since
///   `gelu'(-t) = 1 - gelu'(t)`, this is `|x| (2 gelu'(|x|) - [x < 0]) S`:
///   one derivative per element.
///
/// Computed in Float with `erff`/`expf` (within a few ulps, like PyTorch's
/// float kernel).
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
            let t = abs(xv)
            return sv * t * (2 * geluDerivative(t) - (xv < 0 ? 1 : 0))
        }]
    }
}

/// `0.5 x (1 + erf(x / sqrt 2))`.
@inline(__always)
func geluValue(_ x: Float) -> Float {
    0.5 * x * (1 + erf(x * 0.70710678118654752))
}

/// `Phi(x) + x phi(x)`, the derivative of the exact GELU.
@inline(__always)
func geluDerivative(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + erf(x * 0.70710678118654752))
    let pdf = exp(-0.5 * x * x) * 0.39894228040143268
    return cdf + x * pdf
}

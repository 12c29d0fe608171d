import CVectorMath

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
/// Computed in Float with glibc's vector `erff`/`expf` (`CVectorMath`; within
/// a few ulps, like PyTorch's float kernel).
public final class GELU: Layer {
    override public func apply(_ x: Tensor) -> Tensor {
        gaussianMap(x, x, absolute: false, Value())
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(record.inputs[0], g, absolute: false, VJP())]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(record.inputs[0], s, absolute: true, AbsoluteVJP())]
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(record.inputs[0], s, absolute: true, Contribution())]
    }

    /// `f(v, x, Phi(t), phi(t))` for an element `x` of the input, `v` of the
    /// incoming tensor, `t = x` or `|x|`.
    private protocol GaussianFunction {
        /// Whether the function reads `phi` (else `phi` is not computed: the forward).
        static var readsDensity: Bool { get }
        func callAsFunction(_ v: Float, _ x: Float, _ cdf: Float, _ pdf: Float) -> Float
    }

    /// `x Phi(x)`.
    private struct Value: GaussianFunction {
        static let readsDensity = false
        func callAsFunction(_ v: Float, _ x: Float, _ cdf: Float, _ pdf: Float) -> Float { x * cdf }
    }

    /// `g gelu'(x)`.
    private struct VJP: GaussianFunction {
        static let readsDensity = true
        func callAsFunction(_ g: Float, _ x: Float, _ cdf: Float, _ pdf: Float) -> Float { g * (cdf + x * pdf) }
    }

    /// `s gelu'(|x|)`.
    private struct AbsoluteVJP: GaussianFunction {
        static let readsDensity = true
        func callAsFunction(_ s: Float, _ x: Float, _ cdf: Float, _ pdf: Float) -> Float { s * (cdf + abs(x) * pdf) }
    }

    /// `s |x| (2 gelu'(|x|) - [x < 0])`.
    private struct Contribution: GaussianFunction {
        static let readsDensity = true
        func callAsFunction(_ s: Float, _ x: Float, _ cdf: Float, _ pdf: Float) -> Float {
            let t = abs(x)
            return s * t * (2 * (cdf + t * pdf) - (x < 0 ? 1 : 0))
        }
    }

    /// `f(v_i, x_i, Phi(t_i), phi(t_i))` elementwise, with `t = x` or `|x|`.
    private func gaussianMap<F: GaussianFunction>(_ x: Tensor, _ v: Tensor, absolute: Bool, _ f: F) -> Tensor {
        precondition(x.count == v.count, "\(name): \(v.shape) against input \(x.shape)")
        return x.storage.withUnsafeBufferPointer { xs in
            v.storage.withUnsafeBufferPointer { vs in
                Tensor(shape: x.shape) { out in
                    guard let xp = xs.baseAddress, let vp = vs.baseAddress else { return }
                    parallelChunks(xs.count, minimumChunk: 1 << 13) { range in
                        gaussianBlocks(xp, range, absolute: absolute, density: F.readsDensity) { start, cdf, pdf in
                            for k in 0..<cdf.count { out[start + k] = f(vp[start + k], xp[start + k], cdf[k], pdf[k]) }
                        }
                    }
                }
            }
        }
    }
}

/// Values per block of `gaussianBlocks`.
private let gaussianBlock = 512

/// The standard normal CDF `Phi(t) = 0.5 (1 + erf(t / sqrt 2))` and density
/// `phi(t) = exp(-t^2 / 2) / sqrt(2 pi)` at `t = x[i]` (or `|x[i]|`) over
/// `range`, handed to `body(firstIndex, Phi, phi)` in blocks. Without
/// `density` (the forward reads only `Phi`), `phi` is not computed and
/// `body` gets `Phi` in its place.
@inline(__always)
func gaussianBlocks(_ x: UnsafePointer<Float>, _ range: Range<Int>, absolute: Bool, density: Bool,
                    _ body: (Int, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * gaussianBlock) { buffer in
        let cdf = buffer.baseAddress!, pdf = density ? cdf + gaussianBlock : cdf
        for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: gaussianBlock) {
            let n = min(gaussianBlock, range.upperBound - start)
            for k in 0..<n { cdf[k] = (absolute ? abs(x[start + k]) : x[start + k]) * 0.70710678118654752 }
            if density {
                for k in 0..<n {
                    let t = absolute ? abs(x[start + k]) : x[start + k]
                    pdf[k] = -0.5 * t * t
                }
                cvm_expf(pdf, pdf, n)
                for k in 0..<n { pdf[k] *= 0.39894228040143268 }
            }
            cvm_erff(cdf, cdf, n)
            for k in 0..<n { cdf[k] = 0.5 * (1 + cdf[k]) }
            body(start, UnsafeBufferPointer(start: cdf, count: n), UnsafeBufferPointer(start: pdf, count: n))
        }
    }
}

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
/// Computed in Float, one pass per map in C (`cvm_gelu`: glibc's vector
/// `erff`/`expf` of the CPU's widest vector unit, within a few ulps, like
/// PyTorch's float kernel), parts of the tensor on the cores in parallel.
public final class GELU: Layer {
    override public func apply(_ x: Tensor) -> Tensor { gaussianMap(CVM_GELU_VALUE, x, x) }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(CVM_GELU_VJP, record.inputs[0], g)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(CVM_GELU_ABSOLUTE_VJP, record.inputs[0], s)]
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        [gaussianMap(CVM_GELU_CONTRIBUTION, record.inputs[0], s)]
    }

    /// `function(x_i, v_i)` elementwise (`cvm_gelu_function`).
    private func gaussianMap(_ function: cvm_gelu_function, _ x: Tensor, _ v: Tensor) -> Tensor {
        precondition(x.count == v.count, "\(name): \(v.shape) against input \(x.shape)")
        return x.storage.withUnsafeBufferPointer { xs in
            v.storage.withUnsafeBufferPointer { vs in
                Tensor(shape: x.shape) { out in
                    guard let xp = xs.baseAddress, let vp = vs.baseAddress else { return }
                    parallelChunks(xs.count, minimumChunk: 1 << 13) { range in
                        cvm_gelu(function, xp + range.lowerBound, vp + range.lowerBound, out + range.lowerBound, range.count)
                    }
                }
            }
        }
    }
}

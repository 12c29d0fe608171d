import Foundation

/// Batch normalisation in evaluation mode (`nn.BatchNorm2d`), per channel c:
///
///     y = (x - mu_c) / sqrt(var_c + eps) * gamma_c + beta_c
///
/// - input/output: (B, C, H, W); state `weight` (gamma), `bias` (beta),
///   `running_mean` (mu), `running_var` (var), all (C).
/// - VJP: `gamma_c / sqrt(var_c + eps) * g`; the absolute twin uses `|gamma|`
///   (the running statistics are buffers, not made absolute).
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let eps: Float

    public init(name: String, channels: Int, eps: Float = 1e-5) {
        self.channels = channels; self.eps = eps
        super.init(name: name)
        registerState("weight", shape: [channels], value: 1)
        registerState("bias", shape: [channels])
        registerBuffer("running_mean", shape: [channels])
        registerBuffer("running_var", shape: [channels], value: 1)
    }

    /// Per-channel `gamma / sqrt(var + eps)`, as PyTorch folds it.
    private var scale: [Float] {
        let g = parameter("weight").storage, v = parameter("running_var").storage
        return (0..<channels).map { g[$0] / (v[$0] + eps).squareRoot() }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == channels, "\(name): input \(x.shape), expected (B, \(channels), H, W)")
        return channelAffine(x, scale, shift, then: Unchanged())
    }

    /// `ReLU(apply(x))` in one pass, the same arithmetic on every value as
    /// the two layers one after the other (so bit for bit the same result):
    /// the inference forward's fusion (`ForwardContext.forward(through:_:)`).
    func rectified(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == channels, "\(name): input \(x.shape), expected (B, \(channels), H, W)")
        return channelAffine(x, scale, shift, then: ReLU.Rectifier())
    }

    /// Per-channel `beta - mu * gamma / sqrt(var + eps)`.
    private var shift: [Float] {
        let alpha = scale, m = parameter("running_mean").storage, b = parameter("bias").storage
        return (0..<channels).map { b[$0] - m[$0] * alpha[$0] }
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [channelAffine(g, scale, nil)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        let g = parameter("weight").storage, v = parameter("running_var").storage
        return [channelAffine(s, (0..<channels).map { abs(g[$0]) / (v[$0] + eps).squareRoot() }, nil)]
    }

    override func absLRPDiagonalPass(_ record: Record) -> DiagonalPass? {
        let g = parameter("weight").storage, v = parameter("running_var").storage
        let alpha = scale, alphaAbs = (0..<channels).map { abs(g[$0]) / (v[$0] + eps).squareRoot() }
        let plane = record.inputs[0].shape[2] * record.inputs[0].shape[3], c = channels
        return DiagonalPass(record, planeSize: plane, Rule(alpha: alpha, alphaAbs: alphaAbs, channels: c))
    }

    /// `f(t[:, c] * alpha[c] + beta[c])` over an NCHW tensor, into a new tensor
    /// (one read and one write per value: `t` is usually held by the tape).
    private func channelAffine<F: ElementwiseFunction>(_ t: Tensor, _ alpha: [Float], _ beta: [Float]?,
                                                       then f: F = Unchanged()) -> Tensor {
        let plane = t.shape[2] * t.shape[3]
        return t.storage.withUnsafeBufferPointer { ts in
            Tensor(shape: t.shape) { out in
                guard let tp = ts.baseAddress else { return }
                parallelChunks(t.shape[0] * channels, minimumChunk: max(1, (1 << 15) / max(1, plane))) { planes in
                    for k in planes {
                        let c = k % channels, a = alpha[c], b = beta?[c] ?? 0, base = k * plane
                        for i in base..<(base + plane) { out[i] = f(tp[i] * a + b) }
                    }
                }
            }
        }
    }

    /// `x`: `channelAffine` without a function after it.
    private struct Unchanged: ElementwiseFunction {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x }
    }

    /// `alpha_c x + |alpha_c| |x|` for plane `k` (channel `k mod C`).
    private struct Rule: DiagonalRule {
        let alpha, alphaAbs: [Float]
        let channels: Int
        func plane(_ k: Int) -> Plane { Plane(alpha: alpha[k % channels], alphaAbs: alphaAbs[k % channels]) }

        struct Plane: ElementwiseFunction {
            let alpha, alphaAbs: Float
            func callAsFunction(_ x: Float) -> Float { alpha * x + alphaAbs * abs(x) }
        }
    }
}

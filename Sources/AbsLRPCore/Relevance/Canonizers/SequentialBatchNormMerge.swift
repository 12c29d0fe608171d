import Foundation

/// Zennit's `SequentialMergeBatchNorm`: every BatchNorm2d that directly
/// follows a Conv2d or Linear among the leaves (registration order, timm's)
/// is folded into it, and left computing (nearly) the identity:
///
///     s   = gamma / sqrt(var + eps)                     per channel
///     W' = W s,  b' = (b - mu) s + beta                 (b = 0 when the layer had none)
///     BatchNorm: gamma = 1, beta = 0, mu = 0, var = 1   (eps kept: y = x / sqrt(1 + eps))
///
/// as Zennit does it, so the merged model's forward is Zennit's bit for bit
/// in float32. The LRP rules of the affine layer then see the BatchNorm's
/// scale and shift in its weights and bias.
public struct SequentialBatchNormMerge: Canonizer {
    public init() {}

    public func apply(to network: Module) {
        let leaves = network.operations
        for (layer, norm) in zip(leaves, leaves.dropFirst()) {
            guard let affine = layer as? AffineLayer, let bn = norm as? BatchNorm2d else { continue }
            merge(bn, into: affine)
        }
    }

    private func merge(_ bn: BatchNorm2d, into layer: AffineLayer) {
        let (gamma, beta) = (bn.parameter("weight").storage, bn.parameter("bias").storage)
        let (mean, variance) = (bn.parameter("running_mean").storage, bn.parameter("running_var").storage)
        let scale = (0..<bn.channels).map { gamma[$0] / (variance[$0] + bn.eps).squareRoot() }
        layer.addZeroBias()
        let weight = layer.parameter("weight"), bias = layer.parameter("bias").storage
        let perRow = weight.count / weight.shape[0]
        precondition(weight.shape[0] == bn.channels, "\(bn.name): \(bn.channels) channels after \(layer.name) of \(weight.shape[0])")
        layer.setParameter("weight", Tensor(shape: weight.shape) { (i: Int) -> Float in weight.storage[i] * scale[i / perRow] })
        layer.setParameter("bias", Tensor(shape: [bn.channels]) { (c: Int) -> Float in (bias[c] - mean[c]) * scale[c] + beta[c] })
        bn.setParameter("running_mean", Tensor(shape: [bn.channels]))
        bn.setParameter("running_var", Tensor(shape: [bn.channels], repeating: 1))
        bn.setParameter("bias", Tensor(shape: [bn.channels]))
        bn.setParameter("weight", Tensor(shape: [bn.channels], repeating: 1))
    }
}

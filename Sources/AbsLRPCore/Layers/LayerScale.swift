/// timm's `LayerScale` (ViT blocks' `ls1`/`ls2` with `init_values`):
/// `y = x * gamma` per channel of the last axis.
///
/// - input, output (..., C); `gamma`: (C)
/// - VJP `g * gamma`. The reference's absolute twin keeps `gamma` signed (its
///   generic rule takes the absolute value of `weight` and `bias` only), so
///   the twin's VJP at `|x|` is the same product.
public final class LayerScale: Layer {
    public let features: Int

    public init(name: String, features: Int) {
        self.features = features
        super.init(name: name)
        registerState("gamma", shape: [features], value: 1)
    }

    /// `t * gamma` along the last axis.
    private func scaled(_ t: Tensor) -> Tensor {
        precondition(t.shape.last == features, "\(name): input \(t.shape), expected last axis \(features)")
        let gamma = parameter("gamma").storage
        var out = t
        out.storage.withUnsafeMutableBufferPointer { os in
            for i in os.indices { os[i] *= gamma[i % features] }
        }
        return out
    }

    override public func apply(_ x: Tensor) -> Tensor { scaled(x) }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [scaled(g)] }
}

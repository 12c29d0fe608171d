/// Placeholder replaced by the Vision Transformer implementation.
public final class VisionTransformer: Sequential {
    public init(_ c: VisionTransformerConfiguration) { super.init(name: "") }
}

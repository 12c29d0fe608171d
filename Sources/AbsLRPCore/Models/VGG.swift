/// timm's `VGG`: `features` (3x3 convs [+ BatchNorm2d] + ReLU, 2x2 max pools),
/// `pre_logits` (ConvMlp: 7x7 conv, ReLU, dropout, 1x1 conv to 4096, ReLU)
/// and `head` (global average pool, dropout, linear, flatten).
///
/// - input (B, in_chans, H, W), H and W multiples of 2^(number of pools);
///   output logits (B, num_classes).
/// - Under absLRP, max pools do not divide relevance by |y| (the reference's
///   VGG rule, `absLRPComposite`).
public final class VGG: Sequential {
    public let configuration: VGGConfiguration

    /// The reference's absLRP rules for VGG: the generic rule everywhere,
    /// without the division by `|y|` at max pools.
    public static let absLRPComposite = LayerMapComposite(
        [(.type(MaxPool2d.self), AbsLRPRule(dividesRelevance: false))], fallback: AbsLRPRule())

    public init(_ c: VGGConfiguration) {
        configuration = c
        super.init(name: "")
        let features = Sequential(name: "features")
        var channels = c.inChannels
        for width in c.cfg {
            let i = features.children.count
            let n = features.childName
            if let width {
                features.register(Conv2d(name: n("\(i)"), inChannels: channels, outChannels: width, kernelSize: 3, padding: 1))
                if c.batchNorm { features.register(BatchNorm2d(name: n("\(i + 1)"), channels: width)) }
                features.register(ReLU(name: n("\(features.children.count)")))
                channels = width
            } else {
                features.register(MaxPool2d(name: n("\(i)"), kernelSize: 2, stride: 2))
            }
        }
        register(features)
        register(ConvMlp(name: "pre_logits", inChannels: channels, outChannels: 4096,
                         hiddenChannels: Int(4096 * c.mlpRatio), kernelSize: 7))
        register(ClassifierHead(name: "head", inFeatures: 4096, numClasses: c.numClasses, flattenLast: true))
    }
}

/// timm's `ConvMlp` (VGG's `pre_logits`): fc1 (k x k conv), act1, drop, fc2
/// (1x1 conv), act2. A feature map smaller than k x k is first average-pooled
/// up to at least k x k (`F.adaptive_avg_pool2d` in timm's forward); here that
/// pool is a recorded layer, `pre_logits.adaptive_pool`, explained like any
/// average pool (the reference has no rule for it and cannot explain such inputs).
public final class ConvMlp: Sequential {
    public let kernelSize: Int
    private let adaptivePool: AdaptiveAvgPool2d

    public init(name: String, inChannels: Int, outChannels: Int, hiddenChannels: Int, kernelSize: Int) {
        self.kernelSize = kernelSize
        adaptivePool = AdaptiveAvgPool2d(name: name.isEmpty ? "adaptive_pool" : "\(name).adaptive_pool",
                                         outputSize: { h, w in (max(kernelSize, h), max(kernelSize, w)) })
        super.init(name: name)
        register(Conv2d(name: childName("fc1"), inChannels: inChannels, outChannels: hiddenChannels,
                        kernelSize: kernelSize))
        register(ReLU(name: childName("act1")))
        register(Dropout(name: childName("drop")))
        register(Conv2d(name: childName("fc2"), inChannels: hiddenChannels, outChannels: outChannels, kernelSize: 1))
        register(ReLU(name: childName("act2")))
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let small = x.shape[2] < kernelSize || x.shape[3] < kernelSize
        return super.forward(small ? adaptivePool.forward(x, context) : x, context)
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        var result = context.backward(through: children, r)
        if context.tape.has(adaptivePool) { result = adaptivePool.backward(result, context) }
        context.trace(name, result)
        return result
    }
}

/// timm's `ClassifierHead` over a (B, C, H, W) map: `global_pool` (average
/// pool to 1x1 then flatten, i.e. `SelectAdaptivePool2d` with children
/// `pool` and `flatten`), `drop`, `fc`, and `flatten` (an Identity).
public final class ClassifierHead: Sequential {
    public init(name: String, inFeatures: Int, numClasses: Int, flattenLast: Bool) {
        super.init(name: name)
        register(SelectAdaptivePool2d(name: childName("global_pool")))
        register(Dropout(name: childName("drop")))
        register(Linear(name: childName("fc"), inFeatures: inFeatures, outFeatures: numClasses))
        if flattenLast { register(Identity(name: childName("flatten"))) }
    }
}

/// timm's `SelectAdaptivePool2d` with average pooling and flatten: children
/// `pool` (AdaptiveAvgPool2d(1)) and `flatten`. (B, C, H, W) to (B, C).
public final class SelectAdaptivePool2d: Sequential {
    override public init(name: String) {
        super.init(name: name)
        register(AdaptiveAvgPool2d(name: childName("pool"), outputHeight: 1, outputWidth: 1))
        register(Flatten(name: childName("flatten")))
    }
}

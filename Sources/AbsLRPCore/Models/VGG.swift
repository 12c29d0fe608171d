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
/// pool is a registered child, `pre_logits.adaptive_pool` (first, as it runs
/// first; no state, so the state dict is timm's), recorded only when it runs
/// and explained like any average pool, so composites reach it by type or
/// name (the reference has no rule for it and cannot explain such inputs).
public final class ConvMlp: Module {
    public let kernelSize: Int
    private let adaptivePool: AdaptiveAvgPool2d
    /// fc1, act1, drop, fc2, act2: the children after the pool.
    private let layers: [Module]

    public init(name: String, inChannels: Int, outChannels: Int, hiddenChannels: Int, kernelSize: Int) {
        self.kernelSize = kernelSize
        adaptivePool = AdaptiveAvgPool2d(name: name.isEmpty ? "adaptive_pool" : "\(name).adaptive_pool",
                                         outputSize: { h, w in (max(kernelSize, h), max(kernelSize, w)) },
                                         isFunctionalInTimm: true)
        let n = { (local: String) in name.isEmpty ? local : "\(name).\(local)" }
        layers = [Conv2d(name: n("fc1"), inChannels: inChannels, outChannels: hiddenChannels, kernelSize: kernelSize),
                  ReLU(name: n("act1")), Dropout(name: n("drop")),
                  Conv2d(name: n("fc2"), inChannels: hiddenChannels, outChannels: outChannels, kernelSize: 1),
                  ReLU(name: n("act2"))]
        super.init(name: name)
        register(adaptivePool)
        layers.forEach { register($0) }
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let small = x.shape[2] < kernelSize || x.shape[3] < kernelSize
        return layers.reduce(small ? adaptivePool.forward(x, context) : x) { $1.forward($0, context) }
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        var result = context.backward(through: layers, r)
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

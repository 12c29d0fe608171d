/// timm's `ResNet`: conv1 (7x7/2, or a deep stem `conv1.0`..`conv1.6`), bn1,
/// act1, maxpool, layer1..layerN (N = 4 in every timm model), global_pool, fc.
///
/// - input (B, in_chans, H, W); output logits (B, num_classes).
///
/// Strides and dilations follow timm's `make_blocks`: the stem reduces by 4,
/// stages 2-4 by 2 each, until the reduction would exceed `output_stride`;
/// from that stage on a stage keeps stride 1 and doubles the dilation of its
/// 3x3 convolutions instead. The first block of a stage dilates its first
/// 3x3 convolution with the previous stage's dilation (timm's
/// `first_dilation`), everything after it with the stage's own
/// (`ResNetConfiguration.stages`).
///
/// With timm's `aa_layer` (anti-aliased ResNets) the stem pool is a 2x2/2
/// average pool (`nn.AvgPool2d`) or a 3x3/1 max pool followed by a
/// `BlurPool2d` (`maxpool.0`, `maxpool.1`), and a block whose first 3x3 is
/// strided or changes dilation runs it at stride 1 and pools after it (`aa`).
public final class ResNet: Sequential {
    public let configuration: ResNetConfiguration

    /// The reference's absLRP rules for ResNets: the generic rule everywhere
    /// (identity shortcuts take the total derivative, `AbsLRPRule.propagateIdentityShortcut`).
    public static let absLRPComposite = LayerMapComposite([], fallback: AbsLRPRule())

    public init(_ c: ResNetConfiguration) {
        configuration = c
        super.init(name: "")
        let stemChannels = c.stemOutputChannels
        switch c.stemType {
        case .single:
            register(Conv2d(name: "conv1", inChannels: c.inChannels, outChannels: stemChannels, kernelSize: 7, stride: 2,
                            padding: 3, bias: false))
        case .deep, .deepTiered:
            register(Self.deepStem(c))
        }
        register(c.normalization.layer(name: "bn1", channels: stemChannels))
        register(ReLU(name: "act1"))
        register(Self.stemPool(c))
        var inChannels = stemChannels
        for (stage, geometry) in c.stages.enumerated() {
            let layer = Sequential(name: "layer\(stage + 1)")
            for i in 0..<c.layers[stage] {
                let stride = i == 0 ? geometry.stride : 1
                let block = c.blocks[stage], planes = c.channels[stage], out = planes * block.expansion
                let shortcut: BlockShape.Shortcut = i == 0 && (stride != 1 || inChannels != out)
                    ? (c.avgDown ? .averagePool : .convolution) : .identity
                let shape = BlockShape(inChannels: inChannels, width: c.bottleneckWidth(planes: planes, block: block), outChannels: out,
                                       groups: c.cardinality, stride: stride,
                                       firstDilation: i == 0 ? geometry.firstDilation : geometry.dilation,
                                       dilation: geometry.dilation, shortcut: shortcut, antiAliasing: c.antiAliasing,
                                       normalization: c.normalization)
                let name = layer.childName("\(i)")
                switch block {
                case .basic: layer.register(BasicBlock(name: name, shape))
                case .bottleneck: layer.register(Bottleneck(name: name, shape))
                }
                inChannels = out
            }
            register(layer)
        }
        register(SelectAdaptivePool2d(name: "global_pool"))
        register(Linear(name: "fc", inFeatures: inChannels, outFeatures: c.numClasses))
    }

    /// The stem's pool, `maxpool`: 3x3/2 max pool (padding 1); with
    /// `aa_layer` nn.AvgPool2d a 2x2/2 average pool, with BlurPool2d a
    /// Sequential of a 3x3/1 max pool (padding 1) and a stride-2 blur pool.
    private static func stemPool(_ c: ResNetConfiguration) -> Module {
        switch c.antiAliasing {
        case nil: return MaxPool2d(name: "maxpool", kernelSize: 3, stride: 2, padding: 1)
        case .averagePool: return AvgPool2d(name: "maxpool", kernelSize: 2, stride: 2, ceilMode: false)
        case .blurPool:
            let pool = Sequential(name: "maxpool")
            pool.register(MaxPool2d(name: pool.childName("0"), kernelSize: 3, stride: 1, padding: 1))
            pool.register(BlurPool2d(name: pool.childName("1"), stride: 2))
            return pool
        }
    }

    /// timm's deep stems (`stem_type` "deep" / "deep_tiered"), `conv1` as a
    /// Sequential: 3x3/2 conv, BN, ReLU, 3x3 conv, BN, ReLU, 3x3 conv to
    /// `2 * stem_width` channels. Widths (w, w), tiered (3 * (w / 4), w).
    private static func deepStem(_ c: ResNetConfiguration) -> Sequential {
        let w = c.stemWidth
        let (first, second) = c.stemType == .deepTiered ? (3 * (w / 4), w) : (w, w)
        let stem = Sequential(name: "conv1")
        let n = stem.childName
        stem.register(Conv2d(name: n("0"), inChannels: c.inChannels, outChannels: first, kernelSize: 3, stride: 2,
                             padding: 1, bias: false))
        stem.register(c.normalization.layer(name: n("1"), channels: first))
        stem.register(ReLU(name: n("2")))
        stem.register(Conv2d(name: n("3"), inChannels: first, outChannels: second, kernelSize: 3, padding: 1, bias: false))
        stem.register(c.normalization.layer(name: n("4"), channels: second))
        stem.register(ReLU(name: n("5")))
        stem.register(Conv2d(name: n("6"), inChannels: second, outChannels: c.stemOutputChannels, kernelSize: 3,
                             padding: 1, bias: false))
        return stem
    }
}

/// Where a residual block sits in its network: input channels, the width of
/// its main branch (a Bottleneck's `floor(planes * base_width / 64) * cardinality`,
/// a BasicBlock's `planes`), output channels, the groups of a Bottleneck's
/// 3x3 convolution (timm's `cardinality`), the stride of its strided
/// convolution, the dilations of its first 3x3 convolution (`firstDilation`)
/// and of the others (`dilation`; a 3x3 convolution of dilation d pads by d),
/// its shortcut, its anti-aliasing layer (timm's `aa_layer`) and its norm layers (`norm_layer`).
struct BlockShape {
    /// timm's shortcuts: none, `downsample_conv` (1x1 conv with the stride,
    /// BN) or, with `avg_down`, `downsample_avg` (2x2 average pool with the
    /// stride, ceil mode, padding not counted; 1x1 conv; BN).
    enum Shortcut { case identity, convolution, averagePool }

    let inChannels, width, outChannels, groups, stride, firstDilation, dilation: Int
    let shortcut: Shortcut
    let antiAliasing: ResNetConfiguration.AntiAliasing?
    let normalization: ResNetConfiguration.Normalization

    /// timm's `use_aa`: with `aa_layer`, a block whose first 3x3 is strided
    /// or changes dilation runs that 3x3 at stride 1 and pools after it.
    var isAntiAliased: Bool { antiAliasing != nil && (stride == 2 || firstDilation != dilation) }

    /// The stride of the block's first 3x3 convolution.
    var convolutionStride: Int { isAntiAliased ? 1 : stride }

    /// The block's `aa`: the anti-aliasing pool at the block's stride, or an Identity.
    func antiAliasingLayer(name: String) -> Layer {
        guard isAntiAliased, let antiAliasing else { return Identity(name: name) }
        return antiAliasing.layer(name: name, stride: stride)
    }
}

/// A residual block: a main branch, an optional downsample shortcut
/// (1x1 conv + BN), the residual addition and the final activation.
///
///     y = act(main(x) + shortcut(x))
///
/// Backward (spec section 2): act -> residual addition, split into main and
/// shortcut shares -> shortcut through downsample, main through the main
/// branch in reverse -> the block's input gets the plain sum of both.
///
/// Children in registration order: the main branch, `residual_addition`,
/// the final activation, `downsample`; so a composite's entry for
/// `ResidualAddition` or a block's `NAME.residual_addition` reaches the sum.
public class ResidualBlock: Module {
    /// The main-branch modules in forward order.
    var mainBranch: [Module] = []
    var downsample: Sequential?
    let residualAddition: ResidualAddition
    let finalActivation: ReLU

    init(name: String, finalActivation: String) {
        residualAddition = ResidualAddition(name: "\(name).residual_addition")
        self.finalActivation = ReLU(name: "\(name).\(finalActivation)")
        super.init(name: name)
    }

    /// Adds the block's downsample shortcut, if it has one (``BlockShape/Shortcut``):
    /// `downsample.0` conv 1x1 with the stride, `downsample.1` BN; or with
    /// average pooling `downsample.0` the pool (an Identity at stride 1),
    /// `downsample.1` conv 1x1, `downsample.2` BN.
    func registerDownsample(_ shape: BlockShape) {
        let d = Sequential(name: childName("downsample"))
        let n = d.childName
        switch shape.shortcut {
        case .identity:
            return
        case .convolution:
            d.register(Conv2d(name: n("0"), inChannels: shape.inChannels, outChannels: shape.outChannels,
                              kernelSize: 1, stride: shape.stride, bias: false))
            d.register(shape.normalization.layer(name: n("1"), channels: shape.outChannels))
        case .averagePool:
            d.register(shape.stride == 1 ? Identity(name: n("0"))
                                         : AvgPool2d(name: n("0"), kernelSize: 2, stride: shape.stride, ceilMode: true))
            d.register(Conv2d(name: n("1"), inChannels: shape.inChannels, outChannels: shape.outChannels,
                              kernelSize: 1, bias: false))
            d.register(shape.normalization.layer(name: n("2"), channels: shape.outChannels))
        }
        downsample = register(d)
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let main = context.forward(through: mainBranch, x)
        let shortcut = downsample?.forward(x, context) ?? x
        // inference: the sum and the final ReLU in one pass, the same values
        if context.tape == nil { return residualAddition.rectifiedSum(main, shortcut) }
        return finalActivation.forward(residualAddition.forward(main, shortcut, context), context)
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        let atSum = finalActivation.backward(r, context)
        let (mainShare, shortcutShare): (Tensor, Tensor)
        if downsample == nil {
            let branchContext = BackwardContext(tape: context.tape, rules: .detachedGradient)
            (mainShare, shortcutShare) = residualAddition.backwardIdentityShortcut(atSum, context) { g in
                branchContext.backward(through: self.mainBranch, g)
            }
        } else {
            (mainShare, shortcutShare) = residualAddition.backward2(atSum, context)
        }
        let shortcut = downsample?.backward(shortcutShare, context) ?? shortcutShare
        let main = context.backward(through: mainBranch, mainShare)
        let result = main + shortcut
        context.trace(name, result)
        return result
    }
}

/// timm's `BasicBlock`: conv1 (3x3, stride, first dilation), bn1, drop_block,
/// act1, aa, conv2 (3x3, dilation), bn2; act2 after the residual addition.
/// Expansion 1.
public final class BasicBlock: ResidualBlock {
    init(name: String, _ shape: BlockShape) {
        super.init(name: name, finalActivation: "act2")
        let n = childName, width = shape.width
        mainBranch = [
            Conv2d(name: n("conv1"), inChannels: shape.inChannels, outChannels: width, kernelSize: 3,
                   stride: shape.convolutionStride, padding: shape.firstDilation, dilation: shape.firstDilation, bias: false),
            shape.normalization.layer(name: n("bn1"), channels: width),
            Identity(name: n("drop_block")),
            ReLU(name: n("act1")),
            shape.antiAliasingLayer(name: n("aa")),
            Conv2d(name: n("conv2"), inChannels: width, outChannels: width, kernelSize: 3,
                   padding: shape.dilation, dilation: shape.dilation, bias: false),
            shape.normalization.layer(name: n("bn2"), channels: width),
        ]
        mainBranch.forEach { register($0) }
        register(residualAddition)
        register(finalActivation)
        registerDownsample(shape)
    }
}

/// timm's `Bottleneck`: conv1 (1x1 to the width), bn1, act1, conv2 (3x3,
/// stride, first dilation, `cardinality` groups), bn2, drop_block, act2, aa, conv3 (1x1 to 4x planes), bn3; act3
/// after the residual addition. Expansion 4.
public final class Bottleneck: ResidualBlock {
    init(name: String, _ shape: BlockShape) {
        super.init(name: name, finalActivation: "act3")
        let n = childName, width = shape.width, out = shape.outChannels
        mainBranch = [
            Conv2d(name: n("conv1"), inChannels: shape.inChannels, outChannels: width, kernelSize: 1, bias: false),
            shape.normalization.layer(name: n("bn1"), channels: width),
            ReLU(name: n("act1")),
            Conv2d(name: n("conv2"), inChannels: width, outChannels: width, kernelSize: 3, stride: shape.convolutionStride,
                   padding: shape.firstDilation, dilation: shape.firstDilation, groups: shape.groups, bias: false),
            shape.normalization.layer(name: n("bn2"), channels: width),
            Identity(name: n("drop_block")),
            ReLU(name: n("act2")),
            shape.antiAliasingLayer(name: n("aa")),
            Conv2d(name: n("conv3"), inChannels: width, outChannels: out, kernelSize: 1, bias: false),
            shape.normalization.layer(name: n("bn3"), channels: out),
        ]
        mainBranch.forEach { register($0) }
        register(residualAddition)
        register(finalActivation)
        registerDownsample(shape)
    }
}

extension ResidualBlock: IdentityShortcutModule {
    /// The main branch, when the block has no downsample.
    public var identityShortcutBranches: [[Module]] { downsample == nil ? [mainBranch] : [] }
}

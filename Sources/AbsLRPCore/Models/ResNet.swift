/// timm's `ResNet`: conv1, bn1, act1, maxpool, layer1..layerN (N = 4 in
/// every timm model), global_pool, fc.
///
/// - input (B, in_chans, H, W); output logits (B, num_classes).
public final class ResNet: Sequential {
    public let configuration: ResNetConfiguration

    /// The reference's absLRP rules for ResNets: the generic rule everywhere
    /// (identity shortcuts take the total derivative, `AbsLRPRule.propagateIdentityShortcut`).
    public static let absLRPComposite = LayerMapComposite([], fallback: AbsLRPRule())

    public init(_ c: ResNetConfiguration) {
        configuration = c
        super.init(name: "")
        register(Conv2d(name: "conv1", inChannels: c.inChannels, outChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false))
        register(BatchNorm2d(name: "bn1", channels: 64))
        register(ReLU(name: "act1"))
        register(MaxPool2d(name: "maxpool", kernelSize: 3, stride: 2, padding: 1))
        var inChannels = 64
        for stage in c.layers.indices {
            let layer = Sequential(name: "layer\(stage + 1)")
            for i in 0..<c.layers[stage] {
                let stride = (stage > 0 && i == 0) ? 2 : 1
                let width = c.channels[stage], out = width * c.block.expansion
                let needsDownsample = i == 0 && (stride != 1 || inChannels != out)
                let name = layer.childName("\(i)")
                switch c.block {
                case .basic:
                    layer.register(BasicBlock(name: name, inChannels: inChannels, width: width, stride: stride, downsample: needsDownsample))
                case .bottleneck:
                    layer.register(Bottleneck(name: name, inChannels: inChannels, width: width, stride: stride, downsample: needsDownsample))
                }
                inChannels = out
            }
            register(layer)
        }
        register(SelectAdaptivePool2d(name: "global_pool"))
        register(Linear(name: "fc", inFeatures: inChannels, outFeatures: c.numClasses))
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

    /// Adds the downsample shortcut (timm: conv 1x1 with stride, then BN).
    func registerDownsample(inChannels: Int, outChannels: Int, stride: Int) {
        let d = Sequential(name: childName("downsample"))
        d.register(Conv2d(name: d.childName("0"), inChannels: inChannels, outChannels: outChannels,
                          kernelSize: 1, stride: stride, bias: false))
        d.register(BatchNorm2d(name: d.childName("1"), channels: outChannels))
        downsample = register(d)
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let main = mainBranch.reduce(x) { $1.forward($0, context) }
        let shortcut = downsample?.forward(x, context) ?? x
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

/// timm's `BasicBlock`: conv1 (3x3, stride), bn1, drop_block, act1, aa,
/// conv2 (3x3), bn2; act2 after the residual addition. Expansion 1.
public final class BasicBlock: ResidualBlock {
    init(name: String, inChannels: Int, width: Int, stride: Int, downsample: Bool) {
        super.init(name: name, finalActivation: "act2")
        let n = childName
        mainBranch = [
            Conv2d(name: n("conv1"), inChannels: inChannels, outChannels: width, kernelSize: 3, stride: stride, padding: 1, bias: false),
            BatchNorm2d(name: n("bn1"), channels: width),
            Identity(name: n("drop_block")),
            ReLU(name: n("act1")),
            Identity(name: n("aa")),
            Conv2d(name: n("conv2"), inChannels: width, outChannels: width, kernelSize: 3, padding: 1, bias: false),
            BatchNorm2d(name: n("bn2"), channels: width),
        ]
        mainBranch.forEach { register($0) }
        register(finalActivation)
        if downsample { registerDownsample(inChannels: inChannels, outChannels: width, stride: stride) }
    }
}

/// timm's `Bottleneck`: conv1 (1x1), bn1, act1, conv2 (3x3, stride), bn2,
/// drop_block, act2, aa, conv3 (1x1 to 4x width), bn3; act3 after the
/// residual addition. Expansion 4.
public final class Bottleneck: ResidualBlock {
    init(name: String, inChannels: Int, width: Int, stride: Int, downsample: Bool) {
        super.init(name: name, finalActivation: "act3")
        let n = childName, out = width * 4
        mainBranch = [
            Conv2d(name: n("conv1"), inChannels: inChannels, outChannels: width, kernelSize: 1, bias: false),
            BatchNorm2d(name: n("bn1"), channels: width),
            ReLU(name: n("act1")),
            Conv2d(name: n("conv2"), inChannels: width, outChannels: width, kernelSize: 3, stride: stride, padding: 1, bias: false),
            BatchNorm2d(name: n("bn2"), channels: width),
            Identity(name: n("drop_block")),
            ReLU(name: n("act2")),
            Identity(name: n("aa")),
            Conv2d(name: n("conv3"), inChannels: width, outChannels: out, kernelSize: 1, bias: false),
            BatchNorm2d(name: n("bn3"), channels: out),
        ]
        mainBranch.forEach { register($0) }
        register(finalActivation)
        if downsample { registerDownsample(inChannels: inChannels, outChannels: out, stride: stride) }
    }
}

extension ResidualBlock: IdentityShortcutModule {
    /// The main branch, when the block has no downsample.
    public var identityShortcutBranches: [[Module]] { downsample == nil ? [mainBranch] : [] }
}

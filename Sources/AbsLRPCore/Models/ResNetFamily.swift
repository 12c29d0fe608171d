/// timm's `ResNet` class (`resnet18` ... `resnet152` and the variants built
/// from it): convolutional; Grad-CAM reads `layer4`'s output; the cascading
/// randomisation re-initialises whole residual blocks.
public enum ResNetFamily: ModelFamily {
    public typealias Configuration = ResNetConfiguration
    public static let name = "resnet"
    public static let timmClass = "ResNet"
    public static let kind = ModelKind.convolutional

    public static func makeNetwork(_ configuration: ResNetConfiguration) -> Module { ResNet(configuration) }

    /// Every layer must leave at least one pixel and every block's branches
    /// must agree (``ResNetConfiguration/featureMapLength(_:)``): without
    /// anti-aliasing any size works; the blur pools need 2 pixels, and the
    /// 2x2 average pools halve rounding down where the shortcuts round up.
    public static func validateInput(height: Int, width: Int, _ c: ResNetConfiguration, model: String) throws {
        guard c.featureMapLength(height) == nil || c.featureMapLength(width) == nil else { return }
        throw ClassifierInputError.wrongSize(model: model, expected: c.inputSizeRequirement, actual: [height, width])
    }

    /// `global_pool.pool`, whose recorded input is `layer4`'s output.
    public static func gradCAMFeatureLayer(in network: Module) throws -> Layer {
        guard let pool = network.allModules.first(where: { $0.name == "global_pool.pool" }) as? Layer else {
            throw RelevancyMethodError.notApplicable(method: "gradcam", architecture: name,
                                                     reason: "the network has no global_pool.pool")
        }
        return pool
    }

    public static func isRandomisationUnit(_ module: Module) -> Bool { module is ResidualBlock }

    public static func memoryEstimate(_ c: ResNetConfiguration, height: Int, width: Int) -> MemoryEstimate {
        let stem = c.stemOutputChannels
        var parameters: Int
        switch c.stemType {
        case .single: parameters = Saturating.product([c.inChannels, 49, stem])
        case .deep, .deepTiered:
            let w = c.stemWidth, first = c.stemType == .deepTiered ? 3 * (w / 4) : w
            parameters = Saturating.sum([Saturating.product([c.inChannels, 9, first]), Saturating.product([first, 9, w]),
                                         Saturating.product([w, 9, stem]), Saturating.multiply(first + w, 4)])
        }
        parameters = Saturating.add(parameters, Saturating.multiply(stem, 4))  // bn1
        var inChannels = stem
        for (stage, (blocks, planes)) in zip(c.layers, c.channels).enumerated() {
            let block = c.blocks[stage]
            let out = Saturating.multiply(planes, block.expansion), mid = c.bottleneckWidth(planes: planes, block: block)
            let perBlock: (Int) -> Int = { inC in
                switch block {
                case .basic: Saturating.sum([Saturating.product([inC, mid, 9]), Saturating.product([mid, out, 9]),
                                             Saturating.multiply(mid + out, 4)])
                case .bottleneck: Saturating.sum([Saturating.multiply(inC, mid), Saturating.product([mid, mid / c.cardinality, 9]),
                                                  Saturating.multiply(mid, out), Saturating.multiply(2 * mid + out, 4)])
                }
            }
            parameters = Saturating.add(parameters, perBlock(inChannels))
            if stage > 0 || inChannels != out {
                parameters = Saturating.add(parameters, Saturating.add(Saturating.multiply(inChannels, out),
                                                                       Saturating.multiply(out, 4)))
            }
            parameters = Saturating.add(parameters, Saturating.multiply(blocks - 1, perBlock(out)))
            inChannels = out
        }
        parameters = Saturating.add(parameters, Saturating.multiply(inChannels + 1, c.numClasses))
        // Activations: about 12 recorded maps of the stage's output width per
        // block at the stage's resolution, and 8 of the stem at H/2 x W/2.
        let pixels = Saturating.multiply(height, width)
        var activations = Saturating.product([pixels / 4 + 1, stem, 8])
        for (stage, (blocks, planes)) in zip(c.layers, c.channels).enumerated() {
            let r = c.reduction(afterStage: stage), stagePixels = pixels / Saturating.multiply(r, r) + 1
            activations = Saturating.add(activations, Saturating.product([stagePixels, planes * c.blocks[stage].expansion, 12, blocks]))
        }
        return MemoryEstimate(parameters: parameters, activationsPerImage: activations,
                              scratchpadPerCall: Conv2d.scratchpadBudget)
    }

    public static var absLRPComposite: any Composite { ResNet.absLRPComposite }

    public static func numFeatures(_ c: ResNetConfiguration) -> Int { c.channels.last! * c.blocks.last!.expansion }

    public static func defaultInputSize(_ c: ResNetConfiguration) -> [Int] { [c.inChannels, 224, 224] }
}

/// The keyword arguments of timm's `ResNet` this toolkit runs: the 7x7 stem
/// or the deep and tiered 3x3 stems (`stem_type`, `stem_width`), 3x3/2 max
/// pool, BasicBlock or Bottleneck stages (`base_width`, `cardinality`
/// groups of the 3x3 convolution: ResNeXt) with 1x1-conv or
/// average-pool shortcuts (`avg_down`), anti-aliased downsampling
/// (`aa_layer`), average pooling, linear head.
/// Training-only arguments (drop rates, `zero_init_last`) are accepted;
/// everything else is refused by name, saying what it would need.
public struct ResNetConfiguration: ModelFamilyConfiguration {
    public typealias Family = ResNetFamily

    /// timm's block classes (`BasicBlock`, `Bottleneck`; "basic" and
    /// "bottleneck" in configuration files).
    public enum Block: String, Sendable, Codable {
        case basic, bottleneck
        /// Output channels per unit of stage width (timm's `expansion`).
        var expansion: Int { self == .basic ? 1 : 4 }

        init?(timmName: String) {
            switch timmName {
            case "basic", "BasicBlock": self = .basic
            case "bottleneck", "Bottleneck": self = .bottleneck
            default: return nil
            }
        }
    }

    /// The block of each stage (timm's `block`: one class for all stages, or a list).
    public var blocks: [Block]
    /// Blocks per stage.
    public var layers: [Int]
    /// Widths of the stages (as many as `layers`).
    public var channels: [Int]
    public var numClasses: Int
    public var inChannels: Int
    /// timm's `stem_type`: "" (one 7x7/2 conv), "deep" or "deep_tiered".
    public enum StemType: String, Sendable { case single = "", deep, deepTiered = "deep_tiered" }
    public var stemType: StemType
    /// Width of the deep stems' convolutions (timm's `stem_width`; the 7x7 stem ignores it).
    public var stemWidth: Int
    /// Average-pool shortcuts (timm's `avg_down`).
    public var avgDown: Bool
    /// A Bottleneck's width per 64 planes (timm's `base_width`).
    public var baseWidth: Int
    /// Groups of a Bottleneck's 3x3 convolution (timm's `cardinality`).
    public var cardinality: Int
    /// Input size / final feature map size (timm's `output_stride`): 32, or
    /// 16 / 8 with dilated late stages (see `ResNet`).
    public var outputStride: Int
    /// timm's `aa_layer`, the anti-aliasing pool of the stem and of strided
    /// blocks (`nn.AvgPool2d`, `BlurPool2d`); nil for none.
    public enum AntiAliasing: String, Sendable {
        case averagePool = "nn.AvgPool2d", blurPool = "BlurPool2d"

        /// The pool timm's `create_aa` makes at `stride`: `nn.AvgPool2d(stride)`
        /// (kernel = stride, floor mode) or `BlurPool2d(stride=stride)`.
        func layer(name: String, stride: Int) -> Layer {
            switch self {
            case .averagePool: AvgPool2d(name: name, kernelSize: stride, stride: stride, ceilMode: false)
            case .blurPool: BlurPool2d(name: name, stride: stride)
            }
        }
    }
    public var antiAliasing: AntiAliasing?
    /// timm's `norm_layer`: BatchNorm2d (the default) or, as resnet50_gn,
    /// "groupnorm" (timm's GroupNorm, 32 groups, eps 1e-5).
    public enum Normalization: String, Sendable {
        case batchNorm = "BatchNorm2d", groupNorm = "groupnorm"

        /// timm's GroupNorm takes 32 groups.
        static let groups = 32

        func layer(name: String, channels: Int) -> Layer {
            switch self {
            case .batchNorm: BatchNorm2d(name: name, channels: channels)
            case .groupNorm: GroupNorm(name: name, channels: channels, groups: Self.groups)
            }
        }
    }
    public var normalization: Normalization

    /// The channel counts the network normalises: the stem's, and per stage
    /// the blocks' widths and outputs.
    var normalizedChannels: [Int] {
        let w = stemWidth
        let stem = stemType == .single ? [] : (stemType == .deepTiered ? [3 * (w / 4), w] : [w, w])
        return stem + [stemOutputChannels]
            + zip(channels, blocks).flatMap { [bottleneckWidth(planes: $0, block: $1), $0 * $1.expansion] }
    }

    public init(block: Block, layers: [Int], channels: [Int] = [64, 128, 256, 512], numClasses: Int = 1000,
                inChannels: Int = 3, stemType: StemType = .single, stemWidth: Int = 64, avgDown: Bool = false,
                baseWidth: Int = 64, cardinality: Int = 1, outputStride: Int = 32, antiAliasing: AntiAliasing? = nil,
                normalization: Normalization = .batchNorm) {
        blocks = Array(repeating: block, count: layers.count); self.layers = layers; self.channels = channels
        self.numClasses = numClasses; self.inChannels = inChannels
        self.stemType = stemType; self.stemWidth = stemWidth; self.avgDown = avgDown
        self.baseWidth = baseWidth; self.cardinality = cardinality; self.outputStride = outputStride
        self.antiAliasing = antiAliasing; self.normalization = normalization
    }

    /// How much the input is reduced after stage `stage` (0-based): 4 after
    /// the stem, doubled by every later stage until `outputStride` (timm's `net_stride`).
    func reduction(afterStage stage: Int) -> Int { min(4 << min(stage, 20), outputStride) }

    /// Per stage, timm's `make_blocks`: the stride of its first block (1 for
    /// the first stage and once the reduction has reached `outputStride`),
    /// the dilation of that block's first 3x3 (the previous stage's) and the
    /// stage's dilation (doubled by every stage that keeps stride 1 in place of 2).
    var stages: [(stride: Int, firstDilation: Int, dilation: Int)] {
        var reduction = 4, dilation = 1
        return layers.indices.map { stage in
            let previous = dilation
            var stride = stage == 0 ? 1 : 2
            if reduction >= outputStride {
                dilation *= stride
                stride = 1
            } else {
                reduction *= stride
            }
            return (stride, previous, dilation)
        }
    }

    /// The final feature map's length along an axis of `n` input pixels, or
    /// nil where a layer leaves nothing or a block's main branch and shortcut
    /// disagree (timm fails there too). The stems take `ceil(n / 2)`; the
    /// stem pool and every strided block halve: rounding up (3x3/2 convolution
    /// and max pool of padding 1, blur pool, 1x1/2 shortcut, ceil-mode 2x2
    /// shortcut pool) or, for the 2x2 average pools of `aa_layer`
    /// nn.AvgPool2d, down; blur pools need 2 pixels (reflection).
    func featureMapLength(_ n: Int) -> Int? {
        guard n >= 1 else { return nil }
        let halvedUp: (Int) -> Int = { ($0 + 1) / 2 }
        var m = halvedUp(n)
        switch antiAliasing {
        case nil: m = halvedUp(m)
        case .averagePool?: m /= 2
        case .blurPool?: m = m >= 2 ? halvedUp(m) : 0
        }
        for stage in stages {
            guard m >= 1 else { return nil }
            let antiAliased = antiAliasing != nil && (stage.stride == 2 || stage.firstDilation != stage.dilation)
            if antiAliased && antiAliasing == .blurPool && m < 2 { return nil }
            guard stage.stride == 2 else { continue }
            let main = antiAliased && antiAliasing == .averagePool ? m / 2 : halvedUp(m)
            guard main == halvedUp(m) else { return nil }
            m = main
        }
        return m >= 1 ? m : nil
    }

    /// What ``featureMapLength(_:)`` asks of an input, for the error message.
    var inputSizeRequirement: String {
        let minimum = (1...4096).first { featureMapLength($0) != nil } ?? 4096
        switch antiAliasing {
        case .averagePool?:
            return "sides whose maps the 2x2 anti-aliasing pools and the shortcuts halve alike (multiples of 32 do), at least \(minimum)"
        case .blurPool?, nil:
            return "at least \(minimum)x\(minimum)"
        }
    }

    /// Channels out of the stem: 64 for the 7x7 stem, `2 * stem_width` for the deep ones.
    public var stemOutputChannels: Int { stemType == .single ? 64 : 2 * stemWidth }

    /// The main-branch width of a `block` of `planes`: a Bottleneck's
    /// `floor(planes * base_width / 64) * cardinality`, a BasicBlock's `planes`.
    public func bottleneckWidth(planes: Int, block: Block) -> Int {
        block == .basic ? planes : planes * baseWidth / 64 * cardinality
    }

    static let keys: Set<String> = [
        "block", "layers", "num_classes", "in_chans", "output_stride", "global_pool", "cardinality", "base_width",
        "stem_width", "stem_type", "replace_stem_pool", "block_reduce_first", "down_kernel_size", "avg_down",
        "channels", "act_layer", "norm_layer", "aa_layer", "drop_rate", "drop_path_rate", "drop_block_rate",
        "zero_init_last", "block_args",
    ]

    public init(from decoder: Decoder) throws {
        let a = try ModelArguments(decoder, family: ResNetFamily.name, known: Self.keys)
        // The parts the reference has no rule for first: they decide a timm name's refusal.
        if let args = a.raw("block_args"), args != .null, args != .object([:]) {
            throw ModelConfigurationError.unsupportedOption(
                name: "block_args", value: "\(args)",
                reason: Self.blockArgumentsReason(args))
        }
        guard let raw = a.raw("block") else {
            throw ModelConfigurationError.invalidValue(key: "model_args.block", value: "(missing)",
                                                       expected: "\"basic\" or \"bottleneck\" (timm's BasicBlock, Bottleneck)")
        }
        let names: [JSONValue]
        if case .array(let list) = raw { names = list } else { names = [raw] }
        let parsed = names.map { $0.stringValue.flatMap(Block.init(timmName:)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
            throw ModelConfigurationError.invalidValue(key: "model_args.block", value: "\(raw)",
                                                       expected: "\"basic\" or \"bottleneck\" (timm's BasicBlock, Bottleneck), or one per stage")
        }
        layers = try a.ints("layers", default: [], in: 1...1000)
        if layers.isEmpty {
            throw ModelConfigurationError.invalidValue(key: "model_args.layers", value: "(missing)",
                                                       expected: "a list of blocks per stage, e.g. [2, 2, 2, 2]")
        }
        if case .array = raw, parsed.count != layers.count {
            throw ModelConfigurationError.invalidArgument(
                name: "block", reason: "\(parsed.count) block types for \(layers.count) stages in layers")
        }
        blocks = parsed.count == 1 ? Array(repeating: parsed[0]!, count: layers.count) : parsed.map { $0! }
        channels = try a.ints("channels", default: [64, 128, 256, 512], in: 1...(1 << 16))
        guard channels.count == layers.count else {
            throw ModelConfigurationError.invalidArgument(
                name: "channels", reason: "\(channels.count) stage widths for \(layers.count) stages in layers")
        }
        numClasses = try a.int("num_classes", default: 1000)
        inChannels = try a.int("in_chans", default: 3, in: 1...(1 << 16))
        for rate in ["drop_rate", "drop_path_rate", "drop_block_rate"] { _ = try a.double(rate, default: 0, in: 0...1) }
        _ = try a.bool("zero_init_last", default: true)
        try a.require("global_pool", in: [.string("avg")], reason: "only average pooling is supported")
        let stem = try a.string("stem_type", default: "") ?? ""
        guard let stemType = StemType(rawValue: stem) else {
            throw ModelConfigurationError.invalidValue(key: "model_args.stem_type", value: "\"\(stem)\"",
                                                       expected: "\"\", \"deep\" or \"deep_tiered\" (timm's stems)")
        }
        self.stemType = stemType
        stemWidth = try a.int("stem_width", default: 64, in: 4...(1 << 14))
        avgDown = try a.bool("avg_down", default: false)
        baseWidth = try a.int("base_width", default: 64, in: 1...(1 << 14))
        cardinality = try a.int("cardinality", default: 1, in: 1...(1 << 12))
        if let raw = a.raw("aa_layer"), raw != .null {
            guard let name = raw.stringValue, let antiAliasing = AntiAliasing(rawValue: name) else {
                throw ModelConfigurationError.unsupportedOption(
                    name: "aa_layer", value: "\(raw)",
                    reason: "only timm's BlurPool2d (reflect padding) and nn.AvgPool2d anti-aliasing are implemented here")
            }
            self.antiAliasing = antiAliasing
        } else {
            antiAliasing = nil
        }
        outputStride = try a.int("output_stride", default: 32)
        guard [8, 16, 32].contains(outputStride) else {
            throw ModelConfigurationError.invalidValue(key: "model_args.output_stride", value: "\(outputStride)",
                                                       expected: "8, 16 or 32 (timm's ResNet asserts it)")
        }
        switch try a.string("norm_layer", default: nil) {
        case nil, "BatchNorm2d"?, "batchnorm2d"?, "batchnorm"?: normalization = .batchNorm
        case "groupnorm"?, "GroupNorm"?: normalization = .groupNorm
        case let other?:
            throw ModelConfigurationError.unsupportedOption(name: "norm_layer", value: "\"\(other)\"",
                                                            reason: "only BatchNorm2d and timm's GroupNorm are implemented here")
        }
        if outputStride != 32 && avgDown {
            throw ModelConfigurationError.unsupportedOption(
                name: "avg_down", value: "true",
                reason: "with output_stride \(outputStride) timm's average-pool shortcut becomes a 'same'-padded pool (AvgPool2dSame), which is not implemented")
        }
        if blocks.contains(.basic) && (baseWidth != 64 || cardinality != 1) {
            throw ModelConfigurationError.invalidArgument(
                name: "base_width/cardinality", reason: "timm's BasicBlock takes only base_width 64 and cardinality 1")
        }
        if let zero = zip(channels, blocks).first(where: { bottleneckWidth(planes: $0, block: $1) == 0 })?.0 {
            throw ModelConfigurationError.invalidArgument(
                name: "base_width", reason: "stage width \(zero) * base_width \(baseWidth) / 64 leaves no channels")
        }
        if normalization == .groupNorm, let odd = normalizedChannels.first(where: { $0 % Normalization.groups != 0 }) {
            throw ModelConfigurationError.invalidArgument(
                name: "norm_layer", reason: "GroupNorm's \(Normalization.groups) groups do not divide \(odd) channels (timm refuses it too)")
        }
        try a.requireBool("replace_stem_pool", false, reason: "a convolution in place of the stem's max pool is not supported")
        try a.require("block_reduce_first", in: [.int(1)], reason: "reduced first block widths (SENet) are not supported")
        try a.require("down_kernel_size", in: [.int(1)], reason: "only 1x1 shortcut convolutions are supported")
        try a.requireLayer("act_layer", in: ["ReLU", "relu"], reason: "only ReLU activations are supported")
    }

    /// What a block argument adds that the reference has no rule for.
    static func blockArgumentsReason(_ args: JSONValue) -> String {
        switch args["attn_layer"]?.stringValue ?? args["attn_layer"]?["partial"]?.stringValue {
        case "se"?, "SEModule"?:
            return "squeeze-excitation blocks: the reference explains them as a chain of their layers, which their x * gate(x) is not (it fails on their shapes)"
        case "eca"?: return "efficient channel attention (attn_layer 'eca') has no rule in the reference"
        case let other?: return "attention blocks (attn_layer '\(other)') have no rule in the reference"
        case nil: return "block arguments are not supported"
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelArguments.Key.self)
        if Set(blocks).count == 1 {
            try c.encode(blocks[0].rawValue, forKey: .init(stringValue: "block"))
        } else {
            try c.encode(blocks.map(\.rawValue), forKey: .init(stringValue: "block"))
        }
        try c.encode(layers, forKey: .init(stringValue: "layers"))
        try c.encode(channels, forKey: .init(stringValue: "channels"))
        try c.encode(numClasses, forKey: .init(stringValue: "num_classes"))
        try c.encode(inChannels, forKey: .init(stringValue: "in_chans"))
        try c.encode(stemType.rawValue, forKey: .init(stringValue: "stem_type"))
        try c.encode(stemWidth, forKey: .init(stringValue: "stem_width"))
        try c.encode(avgDown, forKey: .init(stringValue: "avg_down"))
        try c.encode(baseWidth, forKey: .init(stringValue: "base_width"))
        try c.encode(cardinality, forKey: .init(stringValue: "cardinality"))
        try c.encode(outputStride, forKey: .init(stringValue: "output_stride"))
        try c.encode(antiAliasing?.rawValue, forKey: .init(stringValue: "aa_layer"))
        try c.encode(normalization.rawValue, forKey: .init(stringValue: "norm_layer"))
    }
}

extension Architecture {
    public static func resnet(_ c: ResNetConfiguration) -> Architecture { Architecture(c) }
}

/// timm's `ResNet` class (`resnet18` ... `resnet152` and the variants built
/// from it): convolutional; Grad-CAM reads `layer4`'s output; the cascading
/// randomisation re-initialises whole residual blocks.
public enum ResNetFamily: ModelFamily {
    public typealias Configuration = ResNetConfiguration
    public static let name = "resnet"
    public static let timmClass = "ResNet"
    public static let kind = ModelKind.convolutional

    public static func makeNetwork(_ configuration: ResNetConfiguration) -> Module { ResNet(configuration) }

    /// Every stage must leave at least one pixel: a strided 3x3 or 7x7
    /// convolution of padding p takes `floor((n + 2p - k) / s) + 1` pixels out
    /// of n, so the network needs H, W >= 1 everywhere (``minimumInputSize``).
    public static func validateInput(height: Int, width: Int, _ c: ResNetConfiguration, model: String) throws {
        let minimum = c.minimumInputSize
        guard height >= minimum && width >= minimum else {
            throw ClassifierInputError.wrongSize(model: model, expected: "at least \(minimum)x\(minimum)",
                                                 actual: [height, width])
        }
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
        var parameters = Saturating.multiply(c.inChannels * 49, c.stemWidth) // conv1
        parameters = Saturating.add(parameters, Saturating.multiply(c.stemWidth, 4)) // bn1
        var inChannels = c.stemWidth
        for (stage, (blocks, width)) in zip(c.layers, c.channels).enumerated() {
            let out = Saturating.multiply(width, c.block.expansion)
            let perBlock: (Int, Int) -> Int = { inC, outC in
                switch c.block {
                case .basic: Saturating.sum([Saturating.product([inC, width, 9]), Saturating.product([width, outC, 9]),
                                             Saturating.multiply(width + outC, 4)])
                case .bottleneck: Saturating.sum([Saturating.multiply(inC, width), Saturating.product([width, width, 9]),
                                                  Saturating.multiply(width, outC), Saturating.multiply(2 * width + outC, 4)])
                }
            }
            parameters = Saturating.add(parameters, perBlock(inChannels, out))
            if stage > 0 || inChannels != out {
                parameters = Saturating.add(parameters, Saturating.add(Saturating.multiply(inChannels, out),
                                                                       Saturating.multiply(out, 4)))
            }
            parameters = Saturating.add(parameters, Saturating.multiply(blocks - 1, perBlock(out, out)))
            inChannels = out
        }
        parameters = Saturating.add(parameters, Saturating.multiply(inChannels + 1, c.numClasses))
        // Activations: about 12 recorded maps of the widest stage's width per
        // block at the stage's resolution, and 6 of the stem at H/2 x W/2.
        let pixels = Saturating.multiply(height, width)
        var activations = Saturating.product([pixels / 4 + 1, c.stemWidth, 6])
        for (stage, (blocks, width)) in zip(c.layers, c.channels).enumerated() {
            let stagePixels = pixels >> min(62, 2 * (stage + 2)) + 1
            activations = Saturating.add(activations, Saturating.product([stagePixels, width * c.block.expansion, 12, blocks]))
        }
        return MemoryEstimate(parameters: parameters, activationsPerImage: activations)
    }

    public static var absLRPComposite: any Composite { ResNet.absLRPComposite }

    public static func numFeatures(_ c: ResNetConfiguration) -> Int { c.channels.last! * c.block.expansion }

    public static func defaultInputSize(_ c: ResNetConfiguration) -> [Int] { [c.inChannels, 224, 224] }
}

/// The keyword arguments of timm's `ResNet` this toolkit runs: default stem
/// (7x7/2 conv to 64 channels, BN, ReLU, 3x3/2 max pool), BasicBlock or
/// Bottleneck stages with 1x1-conv shortcuts, average pooling, linear head.
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

    public var block: Block
    /// Blocks per stage.
    public var layers: [Int]
    /// Widths of the stages (as many as `layers`).
    public var channels: [Int]
    public var numClasses: Int
    public var inChannels: Int
    /// Channels of the stem (64 for timm's 7x7 stem).
    public var stemWidth: Int { 64 }

    public init(block: Block, layers: [Int], channels: [Int] = [64, 128, 256, 512], numClasses: Int = 1000,
                inChannels: Int = 3) {
        self.block = block; self.layers = layers; self.channels = channels
        self.numClasses = numClasses; self.inChannels = inChannels
    }

    /// The smallest square input every stage takes: the stem and every
    /// stride-2 stage halve the size, rounding up, and never reach zero, so
    /// 1x1 works arithmetically; timm's own minimum is the same.
    var minimumInputSize: Int { 1 }

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
        try a.require("aa_layer", in: [.null], reason: "anti-aliased downsampling (blur pools) has no rule in the reference")
        guard let raw = a.raw("block") else {
            throw ModelConfigurationError.invalidValue(key: "model_args.block", value: "(missing)",
                                                       expected: "\"basic\" or \"bottleneck\" (timm's BasicBlock, Bottleneck)")
        }
        guard let name = raw.stringValue, let block = Block(timmName: name) else {
            throw ModelConfigurationError.invalidValue(key: "model_args.block", value: "\(raw)",
                                                       expected: "\"basic\" or \"bottleneck\" (timm's BasicBlock, Bottleneck)")
        }
        self.block = block
        layers = try a.ints("layers", default: [], in: 1...1000)
        if layers.isEmpty {
            throw ModelConfigurationError.invalidValue(key: "model_args.layers", value: "(missing)",
                                                       expected: "a list of blocks per stage, e.g. [2, 2, 2, 2]")
        }
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
        try a.require("stem_type", in: [.string("")], reason: "only timm's default 7x7 stem is supported")
        try a.require("stem_width", in: [.int(64)], reason: "only timm's default stem width is supported")
        try a.require("cardinality", in: [.int(1)], reason: "grouped convolutions are not supported")
        try a.require("base_width", in: [.int(64)], reason: "only the default base width is supported")
        try a.require("output_stride", in: [.int(32)], reason: "dilated ResNets are not supported")
        try a.requireBool("replace_stem_pool", false, reason: "a convolution in place of the stem's max pool is not supported")
        try a.require("block_reduce_first", in: [.int(1)], reason: "reduced first block widths (SENet) are not supported")
        try a.require("down_kernel_size", in: [.int(1)], reason: "only 1x1 shortcut convolutions are supported")
        try a.requireBool("avg_down", false, reason: "average-pool shortcuts are not supported")
        try a.requireLayer("act_layer", in: ["ReLU", "relu"], reason: "only ReLU activations are supported")
        try a.requireLayer("norm_layer", in: ["BatchNorm2d", "batchnorm2d", "batchnorm"], reason: "only BatchNorm2d is supported")
    }

    /// What a block argument adds that the reference has no rule for.
    static func blockArgumentsReason(_ args: JSONValue) -> String {
        switch args["attn_layer"]?.stringValue {
        case "se"?: return "squeeze-excitation blocks (attn_layer 'se') have no rule in the reference"
        case "eca"?: return "efficient channel attention (attn_layer 'eca') has no rule in the reference"
        case let other?: return "attention blocks (attn_layer '\(other)') have no rule in the reference"
        case nil: return "block arguments are not supported"
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelArguments.Key.self)
        try c.encode(block.rawValue, forKey: .init(stringValue: "block"))
        try c.encode(layers, forKey: .init(stringValue: "layers"))
        try c.encode(channels, forKey: .init(stringValue: "channels"))
        try c.encode(numClasses, forKey: .init(stringValue: "num_classes"))
        try c.encode(inChannels, forKey: .init(stringValue: "in_chans"))
    }
}

extension Architecture {
    public static func resnet(_ c: ResNetConfiguration) -> Architecture { Architecture(c) }
}

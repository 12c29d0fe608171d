/// timm's `VGG` class (`vgg11` ... `vgg19`, `_bn`): convolutional; Grad-CAM
/// reads the last feature map before the final max pool; the cascading
/// randomisation re-initialises one layer (with its BatchNorm) at a time.
public enum VGGFamily: ModelFamily {
    public typealias Configuration = VGGConfiguration
    public static let name = "vgg"
    public static let timmClass = "VGG"
    public static let kind = ModelKind.convolutional

    public static func makeNetwork(_ configuration: VGGConfiguration) -> Module { VGG(configuration) }

    /// Each 2x2/2 max pool halves the size, rounding down: at least
    /// 2^(number of pools) pixels a side leave one for the last pool.
    public static func validateInput(height: Int, width: Int, _ c: VGGConfiguration, model: String) throws {
        let factor = 1 << min(c.cfg.filter { $0 == nil }.count, 30)
        guard height >= factor && width >= factor else {
            throw ClassifierInputError.wrongSize(model: model, expected: "at least \(factor)x\(factor)", actual: [height, width])
        }
    }

    /// The final max pool of `features`: its recorded input is the output of
    /// the last ReLU (the paper's `relu5_3` for VGG-16).
    public static func gradCAMFeatureLayer(in network: Module) throws -> Layer {
        guard let pool = network.allModules.first(where: { $0.name == "features" })?.children.last as? MaxPool2d else {
            throw RelevancyMethodError.notApplicable(
                method: "gradcam", architecture: name,
                reason: "the features do not end with a max pool (every timm cfg ends with \"M\"), so there is no final convolutional stage output to read")
        }
        return pool
    }

    public static func memoryEstimate(_ c: VGGConfiguration, height: Int, width: Int) -> MemoryEstimate {
        var parameters = 0, activations = 0
        var channels = c.inChannels, pixels = Saturating.multiply(height, width)
        for entry in c.cfg {
            if let width = entry {
                parameters = Saturating.add(parameters, Saturating.multiply(channels * 9 + 1 + (c.batchNorm ? 4 : 0), width))
                activations = Saturating.add(activations, Saturating.product([pixels, width, c.batchNorm ? 3 : 2]))
                channels = width
            } else {
                pixels /= 4
            }
        }
        let hidden = c.hiddenChannels
        parameters = Saturating.sum([parameters, Saturating.multiply(channels * 49 + 1, hidden),
                                     Saturating.multiply(hidden + 1, 4096), Saturating.multiply(4096 + 1, c.numClasses)])
        activations = Saturating.add(activations, Saturating.product([max(pixels, 49), hidden + 4096, 2]))
        return MemoryEstimate(parameters: parameters, activationsPerImage: activations,
                              scratchpadPerCall: Conv2d.scratchpadBudget)
    }

    public static var absLRPComposite: any Composite { VGG.absLRPComposite }

    public static func numFeatures(_ c: VGGConfiguration) -> Int { c.cfg.compactMap { $0 }.last! }

    public static func defaultInputSize(_ c: VGGConfiguration) -> [Int] { [c.inChannels, 224, 224] }
}

/// The keyword arguments of timm's `VGG`: `cfg` (3x3 conv widths and "M"
/// for 2x2/2 max pools), `mlp_ratio` (pre_logits' 7x7 conv goes to
/// `int(4096 * mlp_ratio)` channels), `norm_layer` (BatchNorm2d after each
/// conv, or none), `num_classes`, `in_chans`.
public struct VGGConfiguration: ModelFamilyConfiguration {
    public typealias Family = VGGFamily

    /// Widths of the 3x3 convolutions; nil is a 2x2/2 max pool ("M").
    public var cfg: [Int?]
    /// pre_logits' 7x7 conv goes to `Int(4096 * mlpRatio)` channels.
    public var mlpRatio: Double
    public var numClasses: Int
    public var inChannels: Int
    /// Conv, BatchNorm2d, ReLU instead of Conv, ReLU.
    public var batchNorm: Bool

    public init(cfg: [Int?], mlpRatio: Double = 1, numClasses: Int = 1000, inChannels: Int = 3, batchNorm: Bool = false) {
        self.cfg = cfg; self.mlpRatio = mlpRatio; self.numClasses = numClasses
        self.inChannels = inChannels; self.batchNorm = batchNorm
    }

    /// Channels of pre_logits' 7x7 convolution, `int(4096 * mlp_ratio)`.
    var hiddenChannels: Int { Int(4096 * mlpRatio) }

    static let keys: Set<String> = ["cfg", "mlp_ratio", "num_classes", "in_chans", "norm_layer", "global_pool",
                                    "drop_rate", "output_stride", "act_layer", "conv_layer"]

    public init(from decoder: Decoder) throws {
        let a = try ModelArguments(decoder, family: VGGFamily.name, known: Self.keys)
        let expected = "a list of 3x3 conv widths (1 to 65536) and \"M\" (max pool), with at least one width"
        guard case .array(let items)? = a.raw("cfg") else {
            throw ModelConfigurationError.invalidValue(key: "model_args.cfg", value: a.raw("cfg").map { "\($0)" } ?? "(missing)",
                                                       expected: expected)
        }
        cfg = try items.map { item in
            if item == .string("M") { return nil }
            if let v = item.integerValue, (1...(1 << 16)).contains(v) { return v }
            throw ModelConfigurationError.invalidValue(key: "model_args.cfg", value: "\(item)", expected: expected)
        }
        guard cfg.contains(where: { $0 != nil }), cfg.count <= 1000 else {
            throw ModelConfigurationError.invalidValue(key: "model_args.cfg", value: "\(a.raw("cfg")!)", expected: expected)
        }
        mlpRatio = try a.double("mlp_ratio", default: 1, in: 1.0 / 4096...64)
        numClasses = try a.int("num_classes", default: 1000)
        inChannels = try a.int("in_chans", default: 3, in: 1...(1 << 16))
        _ = try a.double("drop_rate", default: 0, in: 0...1)
        switch try a.string("norm_layer", default: nil) {
        case nil: batchNorm = false
        case "batchnorm2d", "batchnorm", "BatchNorm2d", "nn.BatchNorm2d": batchNorm = true
        case let other?: throw ModelConfigurationError.unsupportedOption(
            name: "norm_layer", value: "\"\(other)\"", reason: "only BatchNorm2d is supported")
        }
        try a.require("global_pool", in: [.string("avg")], reason: "VGG here pools by average")
        try a.require("output_stride", in: [.int(32)], reason: "timm's VGG only supports 32")
        try a.requireLayer("act_layer", in: ["ReLU", "nn.ReLU", "relu"], reason: "only ReLU activations are supported")
        try a.requireLayer("conv_layer", in: ["Conv2d", "nn.Conv2d"], reason: "only plain convolutions are supported")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelArguments.Key.self)
        try c.encode(cfg.map { $0.map(JSONValue.int) ?? .string("M") }, forKey: .init(stringValue: "cfg"))
        try c.encode(mlpRatio, forKey: .init(stringValue: "mlp_ratio"))
        try c.encode(numClasses, forKey: .init(stringValue: "num_classes"))
        try c.encode(inChannels, forKey: .init(stringValue: "in_chans"))
        if batchNorm { try c.encode("batchnorm2d", forKey: .init(stringValue: "norm_layer")) }
    }
}

extension Architecture {
    public static func vgg(_ c: VGGConfiguration) -> Architecture { Architecture(c) }
}

import Foundation

/// Everything needed to build a model and feed it: the architecture with its
/// constructor arguments (timm's names), the input size, and the
/// preprocessing statistics.
///
/// Read from the fixtures' form (`{"architecture": "vgg" | "resnet" |
/// "vision_transformer", "model_args": {...}, "input_size": [C, H, W]}`, plus
/// optional `mean`, `std`, `crop_pct`, `label_names`), from a timm hub
/// `config.json` (`architecture` a preset name, `num_classes`, optional
/// `model_args`, `pretrained_cfg` with `input_size`, `mean`, `std`,
/// `crop_pct`, `label_names`), or from a preset name alone.
public struct ModelConfiguration: Sendable {
    /// The family and its arguments.
    public var architecture: Architecture
    /// (C, H, W) the model takes.
    public var inputSize: [Int]
    /// Per-channel normalisation statistics.
    public var mean: [Float]
    public var std: [Float]
    /// Crop size / resize size (timm's `crop_pct`; the reference uses 224/256).
    public var cropPct: Float
    /// Class names, index = class id, when known.
    public var labelNames: [String]?
    /// Free-form name for reports (the preset or the file it came from).
    public var name: String

    public var numClasses: Int { architecture.numClasses }
    public var inChannels: Int { architecture.inChannels }

    public init(architecture: Architecture, inputSize: [Int], mean: [Float], std: [Float],
                cropPct: Float, labelNames: [String]? = nil, name: String) {
        self.architecture = architecture; self.inputSize = inputSize
        self.mean = mean; self.std = std; self.cropPct = cropPct
        self.labelNames = labelNames; self.name = name
    }
}

/// ImageNet statistics (timm's `IMAGENET_DEFAULT_*`), used by CNN presets.
public let imagenetDefaultMean: [Float] = [0.485, 0.456, 0.406]
public let imagenetDefaultStd: [Float] = [0.229, 0.224, 0.225]
/// timm's `IMAGENET_INCEPTION_*` (0.5), used by ViT presets.
public let imagenetInceptionMean: [Float] = [0.5, 0.5, 0.5]
public let imagenetInceptionStd: [Float] = [0.5, 0.5, 0.5]

/// A model family with its constructor arguments.
public enum Architecture: Sendable, Equatable {
    case vgg(VGGConfiguration)
    case resnet(ResNetConfiguration)
    case visionTransformer(VisionTransformerConfiguration)

    public var numClasses: Int {
        switch self {
        case .vgg(let c): c.numClasses
        case .resnet(let c): c.numClasses
        case .visionTransformer(let c): c.numClasses
        }
    }

    public var inChannels: Int {
        switch self {
        case .vgg(let c): c.inChannels
        case .resnet(let c): c.inChannels
        case .visionTransformer(let c): c.inChannels
        }
    }

    /// "vgg", "resnet" or "vision_transformer", as in the fixtures.
    public var familyName: String {
        switch self {
        case .vgg: "vgg"
        case .resnet: "resnet"
        case .visionTransformer: "vision_transformer"
        }
    }
}

/// A configuration file or preset that cannot be used, with what to do about it.
public enum ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unknownArchitecture(String)
    case invalidArgument(name: String, reason: String)
    case unsupportedOption(name: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read model configuration \(path): \(reason)"
        case .unknownArchitecture(let name):
            return "unknown architecture '\(name)'; known: vgg, resnet, vision_transformer, and the presets "
                + ModelPresets.names.joined(separator: ", ")
        case .invalidArgument(let name, let reason):
            return "invalid model argument '\(name)': \(reason)"
        case .unsupportedOption(let name, let value, let reason):
            return "unsupported timm option \(name)=\(value): \(reason)"
        }
    }
}

extension ModelConfiguration {
    /// Reads a configuration file in the fixtures' form or timm's `config.json` form.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw ModelConfigurationError.unreadable(path: url.path, reason: "not a JSON object")
        }
        var name = url.deletingPathExtension().lastPathComponent
        if name.hasSuffix(".config") { name = String(name.dropLast(".config".count)) }
        if name == "config" { name = url.deletingLastPathComponent().lastPathComponent }
        try self.init(json: json, name: name)
    }

    /// Builds a configuration from a parsed JSON object (either form).
    public init(json: [String: Any], name: String) throws {
        guard let arch = json["architecture"] as? String else {
            throw ModelConfigurationError.invalidArgument(name: "architecture", reason: "missing")
        }
        var args = json["model_args"] as? [String: Any] ?? [:]
        if let n = json["num_classes"] as? Int, args["num_classes"] == nil { args["num_classes"] = n }
        let pretrained = json["pretrained_cfg"] as? [String: Any] ?? [:]
        func field(_ key: String) -> Any? { json[key] ?? pretrained[key] }

        var config: ModelConfiguration
        if let preset = ModelPresets.configuration(named: arch) {
            config = preset
            config.architecture = try ModelPresets.architecture(family: preset.architecture.familyName,
                                                               args: ModelPresets.arguments(of: preset.architecture)
                                                                   .merging(args) { $1 })
        } else {
            let architecture = try ModelPresets.architecture(family: arch, args: args)
            let vit: Bool
            if case .visionTransformer = architecture { vit = true } else { vit = false }
            config = ModelConfiguration(
                architecture: architecture, inputSize: [architecture.inChannels, 224, 224],
                mean: vit ? imagenetInceptionMean : imagenetDefaultMean,
                std: vit ? imagenetInceptionStd : imagenetDefaultStd, cropPct: 224.0 / 256.0, name: name)
            if case .visionTransformer(let v) = architecture { config.inputSize = [v.inChannels, v.imageSize, v.imageSize] }
        }
        config.name = name
        if let size = field("input_size") as? [Int] { config.inputSize = size }
        if let m = field("mean") as? [Double] { config.mean = m.map(Float.init) }
        if let s = field("std") as? [Double] { config.std = s.map(Float.init) }
        if let c = field("crop_pct") as? Double { config.cropPct = Float(c) }
        if let labels = field("label_names") as? [String] { config.labelNames = labels }
        try config.validate()
        self = config
    }

    /// Checks that the pieces agree (channels, statistics, class names).
    public func validate() throws {
        guard inputSize.count == 3, inputSize.allSatisfy({ $0 > 0 }) else {
            throw ModelConfigurationError.invalidArgument(name: "input_size", reason: "need [C, H, W], got \(inputSize)")
        }
        guard inputSize[0] == inChannels else {
            throw ModelConfigurationError.invalidArgument(
                name: "input_size", reason: "\(inputSize[0]) channels but the model takes in_chans=\(inChannels)")
        }
        try requireFinite(mean, field: "mean")
        try requireFinite(std, field: "std")
        guard mean.count == inChannels || mean.count == 1, std.count == mean.count, std.allSatisfy({ $0 > 0 }) else {
            throw ModelConfigurationError.invalidArgument(
                name: "mean/std", reason: "need \(inChannels) positive values each, got mean \(mean) std \(std)")
        }
        guard cropPct > 0 && cropPct <= 1 else {
            throw ModelConfigurationError.invalidArgument(name: "crop_pct", reason: "must be in (0, 1], got \(cropPct)")
        }
        if let labels = labelNames, labels.count != numClasses {
            throw ModelConfigurationError.invalidArgument(
                name: "label_names", reason: "\(labels.count) names for \(numClasses) classes")
        }
    }
}

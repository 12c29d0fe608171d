import Foundation

/// Everything needed to build a model and feed it: the family with its
/// constructor arguments (timm's names), the input size, and the
/// preprocessing statistics.
///
/// Read from
/// - the fixtures' form: `{"architecture": "vgg" | "resnet" | "vision_transformer",
///   "model_args": {...}, "input_size": [C, H, W]}` plus optional `mean`,
///   `std`, `crop_pct`, `label_names`;
/// - timm's hub `config.json`: `architecture` a timm model name (with or
///   without a pretrained tag), `num_classes`, optional `model_args`
///   (overriding the entrypoint's), `num_features` (checked), `global_pool`,
///   `pretrained_cfg` with the input fields;
/// - a timm model name alone (``init(timmName:)``).
///
/// Other top-level keys (`seed`, `test_accuracy`, ...) are documentation.
public struct ModelConfiguration: Sendable {
    /// The family and its arguments.
    public var architecture: Architecture
    /// What inputs look like: size, resize filter, crop, statistics (timm's
    /// `pretrained_cfg` input fields).
    public var data: DataConfiguration
    /// Class names, index = class id, when known.
    public var labelNames: [String]?
    /// Free-form name for reports (the timm name or the file it came from).
    public var name: String

    public var numClasses: Int { architecture.numClasses }
    public var inChannels: Int { architecture.inChannels }
    /// (C, H, W) the model takes.
    public var inputSize: [Int] {
        get { data.inputSize }
        set { data.inputSize = newValue }
    }

    public init(architecture: Architecture, data: DataConfiguration, labelNames: [String]? = nil, name: String) {
        self.architecture = architecture; self.data = data
        self.labelNames = labelNames; self.name = name
    }

    /// A configuration with explicit statistics and crop_pct (timm's other defaults).
    public init(architecture: Architecture, inputSize: [Int], mean: [Float], std: [Float],
                cropPct: Float, labelNames: [String]? = nil, name: String) {
        self.init(architecture: architecture,
                  data: DataConfiguration(inputSize: inputSize, cropPct: Double(cropPct),
                                          mean: mean.map(Double.init), std: std.map(Double.init)),
                  labelNames: labelNames, name: name)
    }

    /// A family's configuration with timm's defaults for its kind: for RGB
    /// models ImageNet statistics for CNNs and 0.5 for ViTs; for other channel
    /// counts no statistics (``DataConfiguration/defaultStatistics(channels:)``);
    /// crop 0.875, bicubic, centre crop.
    public init(architecture: Architecture, name: String) {
        var data = DataConfiguration(inputSize: architecture.defaultInputSize)
        if architecture.inChannels == 3 {
            let attention = architecture.kind == .attention
            data.mean = (attention ? imagenetInceptionMean : imagenetDefaultMean).map(Double.init)
            data.std = (attention ? imagenetInceptionStd : imagenetDefaultStd).map(Double.init)
        }
        self.init(architecture: architecture, data: data, name: name)
    }
}

/// ImageNet statistics (timm's `IMAGENET_DEFAULT_*`), used by CNN presets.
public let imagenetDefaultMean: [Float] = [0.485, 0.456, 0.406]
public let imagenetDefaultStd: [Float] = [0.229, 0.224, 0.225]
/// timm's `IMAGENET_INCEPTION_*` (0.5), used by ViT presets.
public let imagenetInceptionMean: [Float] = [0.5, 0.5, 0.5]
public let imagenetInceptionStd: [Float] = [0.5, 0.5, 0.5]

/// A configuration file or model name that cannot be used, with what to do about it.
public enum ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unknownArchitecture(String)
    /// A value of the wrong type or out of range: the key, the value as the
    /// file wrote it, and what it must be.
    case invalidValue(key: String, value: String, expected: String)
    case unknownArgument(family: String, key: String, value: String, known: [String])
    case invalidArgument(name: String, reason: String)
    case unsupportedOption(name: String, value: String, reason: String)
    /// A timm model this toolkit does not run, and the part it lacks.
    case refusedModel(name: String, reason: String)
    case memoryLimit(model: String, bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read model configuration \(path): \(reason)"
        case .unknownArchitecture(let name):
            return "unknown architecture '\(name)': give a family ("
                + ModelFamilies.all.map { $0.name }.joined(separator: ", ")
                + ") with model_args, or a timm model name (see `abslrp models`, e.g. vgg16, resnet50, vit_base_patch16_224)"
        case .invalidValue(let key, let value, let expected):
            return "invalid \(key): \(value) is not \(expected)"
        case .unknownArgument(let family, let key, let value, let known):
            return "unknown \(family) argument model_args.\(key) (= \(value)); timm's \(family) arguments are "
                + known.joined(separator: ", ")
        case .invalidArgument(let name, let reason):
            return "invalid model argument '\(name)': \(reason)"
        case .unsupportedOption(let name, let value, let reason):
            return "unsupported timm option \(name)=\(value): \(reason)"
        case .refusedModel(let name, let reason):
            return "timm model \(name) is not supported: \(reason)"
        case .memoryLimit(let model, let bytes, let limit):
            return "model \(model) would need about \(Self.gigabytes(bytes)) (weights and one image's recorded forward), "
                + "above the memory limit of \(Self.gigabytes(limit)); raise it with --memory-limit if this machine has the memory"
        }
    }

    private static func gigabytes(_ bytes: Int) -> String {
        bytes == Int.max ? "more than 9e9 GB" : String(format: "%.2f GB", Double(bytes) / 1e9)
    }
}

extension ModelConfiguration {
    /// Bytes a model may need before it is built (``checkMemory(limit:)``):
    /// `$ABSLRP_MEMORY_LIMIT_GB` if set, else the machine's physical memory.
    public static var defaultMemoryLimit: Int {
        if let text = ProcessInfo.processInfo.environment["ABSLRP_MEMORY_LIMIT_GB"], let gb = Double(text), gb > 0, gb < 1e9 {
            return Int(gb * 1e9)
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// The memory this model needs for one image: weights, their derived
    /// copies and one recorded forward (``MemoryEstimate``).
    public var estimatedBytes: Int {
        architecture.memoryEstimate(height: inputSize[1], width: inputSize[2]).bytes(batch: 1)
    }

    /// Throws ``ModelConfigurationError/memoryLimit(model:bytes:limit:)`` when
    /// the model would need more than `limit` bytes: checked before building.
    public func checkMemory(limit: Int) throws {
        let bytes = estimatedBytes
        guard bytes <= limit else { throw ModelConfigurationError.memoryLimit(model: name, bytes: bytes, limit: limit) }
    }

    /// Reads a configuration file in the fixtures' form or timm's `config.json` form.
    public init(contentsOf url: URL, memoryLimit: Int = ModelConfiguration.defaultMemoryLimit) throws {
        let data: Data
        do { data = try InputFile.contents(of: url) } catch {
            throw ModelConfigurationError.unreadable(path: url.path, reason: "\(error)")
        }
        var name = url.deletingPathExtension().lastPathComponent
        if name.hasSuffix(".config") { name = String(name.dropLast(".config".count)) }
        if name == "config" { name = url.deletingLastPathComponent().lastPathComponent }
        do {
            try self.init(data: data, name: name, memoryLimit: memoryLimit)
        } catch let ModelConfigurationError.unreadable(_, reason) {
            throw ModelConfigurationError.unreadable(path: url.path, reason: reason)
        }
    }

    /// Builds a configuration from a parsed JSON object (either form).
    public init(json: [String: Any], name: String, memoryLimit: Int = ModelConfiguration.defaultMemoryLimit) throws {
        let data = try JSONSerialization.data(withJSONObject: json)
        try self.init(data: data, name: name, memoryLimit: memoryLimit)
    }

    /// Builds a configuration from a JSON document (either form).
    public init(data: Data, name: String, memoryLimit: Int = ModelConfiguration.defaultMemoryLimit) throws {
        let document: [String: JSONValue]
        do {
            guard let object = try JSONValue(data: data).objectValue else {
                throw ModelConfigurationError.unreadable(path: name, reason: "not a JSON object")
            }
            document = object
        } catch let error as ModelConfigurationError {
            throw error
        } catch {
            throw ModelConfigurationError.unreadable(path: name, reason: "not JSON (\(error))")
        }
        guard let architectureValue = document["architecture"] else {
            throw ModelConfigurationError.invalidValue(key: "architecture", value: "(missing)",
                                                       expected: "a family name or a timm model name")
        }
        guard let architecture = architectureValue.stringValue else {
            throw ModelConfigurationError.invalidValue(key: "architecture", value: "\(architectureValue)",
                                                       expected: "a family name or a timm model name")
        }
        var arguments: [String: JSONValue] = [:]
        if let raw = document["model_args"] {
            guard let object = raw.objectValue else {
                throw ModelConfigurationError.invalidValue(key: "model_args", value: "\(raw)", expected: "an object")
            }
            arguments = object
        }
        if let classes = document["num_classes"] {
            guard let k = classes.integerValue, (0...ModelArguments.maximumCount).contains(k) else {
                throw ModelConfigurationError.invalidValue(key: "num_classes", value: "\(classes)",
                                                           expected: "an integer from 0 to \(ModelArguments.maximumCount)")
            }
            if arguments["num_classes"] == nil { arguments["num_classes"] = .int(k) }
        }
        var pretrained: [String: JSONValue] = [:]
        if let raw = document["pretrained_cfg"] {
            guard let object = raw.objectValue else {
                throw ModelConfigurationError.invalidValue(key: "pretrained_cfg", value: "\(raw)", expected: "an object")
            }
            pretrained = object
        }

        var config: ModelConfiguration
        if let family = ModelFamilies.family(named: architecture) {
            config = ModelConfiguration(architecture: try ModelFamilies.architecture(family, modelArguments: .object(arguments)),
                                        name: name)
        } else {
            let tag = pretrained["tag"]?.stringValue
            config = try ModelConfiguration(unvalidatedTimmName: tag.map { "\(architecture).\($0)" } ?? architecture,
                                            overrides: arguments)
            config.name = name
        }
        try PretrainedInputFields(document: document, pretrained: pretrained).apply(to: &config)
        try config.validate()
        if let features = document["num_features"], features.integerValue != config.architecture.numFeatures {
            throw ModelConfigurationError.invalidValue(
                key: "num_features", value: "\(features)",
                expected: "the \(config.architecture.numFeatures) features this \(config.architecture.familyName) configuration has")
        }
        try config.checkMemory(limit: memoryLimit)
        self = config
    }

    /// The configuration of a timm model name from the shipped table
    /// (``TimmModels``), with or without a pretrained tag (`resnet50.a1_in1k`):
    /// the entrypoint's arguments (with `overrides` applied), the tag's input
    /// fields, 1000 ImageNet classes unless the arguments say otherwise.
    public init(timmName: String, overrides: [String: JSONValue] = [:],
                memoryLimit: Int = ModelConfiguration.defaultMemoryLimit) throws {
        try self.init(unvalidatedTimmName: timmName, overrides: overrides)
        try validate()
        try checkMemory(limit: memoryLimit)
    }

    /// ``init(timmName:overrides:memoryLimit:)`` before the checks (a
    /// configuration file may still set the input fields).
    private init(unvalidatedTimmName timmName: String, overrides: [String: JSONValue]) throws {
        let table = try TimmModels.shipped()
        guard let (entry, tag) = table.entry(named: timmName) else {
            throw ModelConfigurationError.unknownArchitecture(timmName)
        }
        if let tag, entry.pretrained[tag] == nil {
            throw TimmModelsError.unknownTag(name: entry.name, tag: tag, known: entry.pretrained.keys.sorted())
        }
        self.init(architecture: try entry.architecture(tag: tag, overrides: overrides), name: timmName)
        if let fields = entry.inputFields(tag: tag)?.objectValue {
            try PretrainedInputFields(document: [:], pretrained: fields).apply(to: &self)
        }
    }

    /// Checks that the pieces agree (sizes, channels, class names). The
    /// statistics are checked for finiteness here and against the channel
    /// count only when images are preprocessed (``preprocessing(_:)``): a
    /// preprocessed tensor never needs them.
    public func validate() throws {
        try data.validate()
        guard inputSize[0] == inChannels else {
            throw ModelConfigurationError.invalidArgument(
                name: "input_size", reason: "\(inputSize[0]) channels but the model takes in_chans=\(inChannels)")
        }
        do {
            try architecture.validateInput(height: inputSize[1], width: inputSize[2], model: name)
        } catch let error as ClassifierInputError {
            throw ModelConfigurationError.invalidArgument(name: "input_size", reason: "\(error)")
        }
        if let mean = data.mean { try requireFinite(mean, field: "mean") }
        if let std = data.std { try requireFinite(std, field: "std") }
        if let labels = labelNames, labels.count != numClasses {
            throw ModelConfigurationError.invalidArgument(
                name: "label_names", reason: "\(labels.count) names for \(numClasses) classes")
        }
    }
}

import Foundation

/// Where models come from: the bundled Fashion-MNIST models
/// (`BundledResources.weightsDirectory()`: `NAME.json` + `NAME.safetensors`),
/// timm names with a weights file, or a weights file with a configuration file.
public enum ModelCatalog {
    /// The bundled model used when none is named.
    public static let defaultModelName = "vit_fmnist"

    /// Names of the bundled models (each has `NAME.json` and `NAME.safetensors`).
    /// - Throws: ``BundledResourceError`` when the resource bundle lacks its `Weights` folder.
    public static func bundledModelNames() throws -> [String] {
        let dir = try BundledResources.weightsDirectory()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
            .filter { files.contains("\($0).safetensors") }.sorted()
    }

    /// Builds a classifier from the user's choice:
    /// - `model` a bundled name, with no files (or with `weights`: the bundled
    ///   configuration with other weights, such as a retrained copy);
    /// - `model` a timm model name (``TimmModels``, with or without a
    ///   pretrained tag) with `weights` (and optionally `config` to override it);
    /// - `weights` with `config` (the fixtures' form or timm's `config.json`);
    /// - nothing: the default bundled model.
    /// A model that would need more than `memoryLimit` bytes is refused before it is built.
    public static func load(model: String?, weights: URL?, config: URL?,
                            memoryLimit: Int = ModelConfiguration.defaultMemoryLimit) throws -> Classifier {
        if let config, let weights, model == nil {
            return try Classifier(configuration: try ModelConfiguration(contentsOf: config, memoryLimit: memoryLimit),
                                  weights: weights)
        }
        let name = model ?? defaultModelName
        if weights == nil && config == nil {
            let dir = try BundledResources.weightsDirectory(), bundled = try bundledModelNames()
            guard bundled.contains(name) else {
                if try TimmModels.shipped().entry(named: name) != nil {
                    _ = try ModelConfiguration(timmName: name, memoryLimit: memoryLimit)  // refused names say why
                    throw ModelCatalogError.presetNeedsWeights(name)
                }
                throw ModelCatalogError.unknownModel(name, bundled: bundled)
            }
            let configuration = try ModelConfiguration(contentsOf: dir.appendingPathComponent("\(name).json"),
                                                       memoryLimit: memoryLimit)
            return try Classifier(configuration: configuration, weights: dir.appendingPathComponent("\(name).safetensors"))
        }
        guard let weights else { throw ModelCatalogError.configWithoutWeights }
        var configuration: ModelConfiguration
        if let config {
            configuration = try ModelConfiguration(contentsOf: config, memoryLimit: memoryLimit)
        } else if try bundledModelNames().contains(name) {
            configuration = try ModelConfiguration(
                contentsOf: try BundledResources.weightsDirectory().appendingPathComponent("\(name).json"), memoryLimit: memoryLimit)
        } else if try TimmModels.shipped().entry(named: name) != nil {
            configuration = try ModelConfiguration(timmName: name, memoryLimit: memoryLimit)
        } else {
            throw ModelCatalogError.unknownModel(name, bundled: try bundledModelNames())
        }
        if configuration.labelNames == nil && configuration.numClasses == 1000 { configuration.labelNames = imagenetLabelNames }
        return try Classifier(configuration: configuration, weights: weights)
    }
}

/// A model choice that cannot be resolved, with what to do instead.
public enum ModelCatalogError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, bundled: [String])
    case presetNeedsWeights(String)
    case configWithoutWeights

    public var description: String {
        switch self {
        case .unknownModel(let name, let bundled):
            return "unknown model '\(name)': bundled models are \(bundled.joined(separator: ", ")); "
                + "timm model names (with --weights) are listed by `abslrp models`"
        case .presetNeedsWeights(let name):
            return "'\(name)' is a timm architecture without bundled weights: add --weights model.safetensors "
                + "(see README: timm's model.safetensors and config.json from the model hub, or scripts/export_timm.py)"
        case .configWithoutWeights:
            return "--config needs --weights (the safetensors file the configuration describes)"
        }
    }
}

extension ModelConfiguration {
    /// How images become inputs of this model with `pipeline`
    /// (``Preprocessing``): the reference's proportions (resize to
    /// `floor(size * 256 / 224)`, crop) or timm's eval transform, normalised
    /// with the configuration's statistics (``DataConfiguration/statistics()``).
    /// - Throws: ``DataConfigurationError/statistics(reason:)`` when the
    ///   statistics do not fit the channels, ``DataConfigurationError/notAnImageModel(channels:)``
    ///   for a model that does not take 1- or 3-channel images.
    public func preprocessing(_ pipeline: Preprocessing = .reference) throws -> PreprocessingConfig {
        let (mean, std) = try data.statistics()
        let channels = inputSize[0]
        guard channels == 1 || channels == 3 else { throw DataConfigurationError.notAnImageModel(channels: channels) }
        switch pipeline {
        case .reference:
            return .reference(height: inputSize[1], width: inputSize[2], mean: mean, std: std, channels: channels)
        case .timm:
            return PreprocessingConfig(timm: TimmEvalTransform(data, mean: mean), mean: mean, std: std, channels: channels)
        }
    }

    /// The preprocessing used to display an input that is already a tensor:
    /// ``preprocessing(_:)`` when the statistics fit, else the default
    /// statistics for the channel count (a tensor never needs statistics).
    public var displayPreprocessing: PreprocessingConfig {
        if let p = try? preprocessing() { return p }
        let channels = inputSize[0] == 1 ? 1 : 3
        let (mean, std) = DataConfiguration.defaultStatistics(channels: channels)
        return .reference(height: inputSize[1], width: inputSize[2], mean: mean, std: std, channels: channels)
    }

    /// The class names, index = class id: `label_names`, ImageNet's for
    /// 1000-class models, else nil.
    public var classNames: [String]? {
        labelNames ?? (numClasses == 1000 ? imagenetLabelNames : nil)
    }

    /// A class name as names are compared: lower-cased letters and digits
    /// only (`"T-shirt/top"`, `"t shirt_top"` and `"T-shirt_top"` are all `"tshirttop"`).
    public static func comparableClassName(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter(CharacterSet.alphanumerics.contains)))
    }

    /// The class a user names: an index (`"5"`) or a class name compared by
    /// ``comparableClassName(_:)`` (`"sandal"`); nil when it is neither.
    public func classIndex(named text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let index = Int(trimmed) { return index }
        let wanted = Self.comparableClassName(trimmed)
        return classNames?.firstIndex { Self.comparableClassName($0) == wanted }
    }

    /// The name of class `index` (from `label_names`, ImageNet for 1000-class
    /// models, else "class N").
    public func labelName(_ index: Int) -> String {
        if let labels = labelNames, index < labels.count { return labels[index] }
        if numClasses == 1000 { return imagenetLabelNames[index] }
        return "class \(index)"
    }
}

import Foundation

/// timm's preset names and how a family's arguments are parsed.
public enum ModelPresets {
    private static let vggConfigs: [String: [Int?]] = [
        "vgg11": [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "vgg13": [64, 64, nil, 128, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "vgg16": [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
        "vgg19": [64, 64, nil, 128, 128, nil, 256, 256, 256, 256, nil, 512, 512, 512, 512, nil, 512, 512, 512, 512, nil],
    ]
    private static let resnets: [String: (ResNetConfiguration.Block, [Int])] = [
        "resnet18": (.basic, [2, 2, 2, 2]), "resnet34": (.basic, [3, 4, 6, 3]),
        "resnet50": (.bottleneck, [3, 4, 6, 3]), "resnet101": (.bottleneck, [3, 4, 23, 3]),
        "resnet152": (.bottleneck, [3, 8, 36, 3]),
    ]
    /// (embed_dim, depth, num_heads) per size.
    private static let vitSizes: [String: (Int, Int, Int)] = [
        "tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16),
    ]
    private static let vits: [String: (size: String, patch: Int, image: Int)] = [
        "vit_tiny_patch16_224": ("tiny", 16, 224), "vit_small_patch16_224": ("small", 16, 224),
        "vit_base_patch16_224": ("base", 16, 224), "vit_large_patch16_224": ("large", 16, 224),
        "vit_base_patch32_224": ("base", 32, 224), "vit_base_patch16_384": ("base", 16, 384),
    ]

    /// Every preset name, sorted.
    public static var names: [String] {
        (vggConfigs.keys.flatMap { [$0, $0 + "_bn"] } + resnets.keys + vits.keys).sorted()
    }

    /// The ImageNet configuration of a preset (1000 classes, timm's default
    /// preprocessing), or nil for an unknown name.
    public static func configuration(named name: String) -> ModelConfiguration? {
        let architecture: Architecture
        var mean = imagenetDefaultMean, std = imagenetDefaultStd
        var cropPct: Float = 0.875
        var size = 224
        if let (block, layers) = resnets[name] {
            architecture = .resnet(ResNetConfiguration(block: block, layers: layers))
        } else if let cfg = vggConfigs[name.hasSuffix("_bn") ? String(name.dropLast(3)) : name] {
            architecture = .vgg(VGGConfiguration(cfg: cfg, batchNorm: name.hasSuffix("_bn")))
        } else if let v = vits[name], let (dim, depth, heads) = vitSizes[v.size] {
            architecture = .visionTransformer(VisionTransformerConfiguration(
                imageSize: v.image, patchSize: v.patch, embedDim: dim, depth: depth, numHeads: heads))
            mean = imagenetInceptionMean; std = imagenetInceptionStd
            cropPct = v.image == 384 ? 1.0 : 0.9
            size = v.image
        } else {
            return nil
        }
        return ModelConfiguration(architecture: architecture, inputSize: [3, size, size], mean: mean, std: std,
                                  cropPct: cropPct, name: name)
    }

    /// Parses a family's `model_args` (timm's keyword names).
    public static func architecture(family: String, args: [String: Any]) throws -> Architecture {
        switch family {
        case "vgg": return .vgg(try VGGConfiguration(args: args))
        case "resnet": return .resnet(try ResNetConfiguration(args: args))
        case "vision_transformer", "vit": return .visionTransformer(try VisionTransformerConfiguration(args: args))
        default: throw ModelConfigurationError.unknownArchitecture(family)
        }
    }

    /// A family's arguments as `model_args`, so a preset can be overridden key by key.
    static func arguments(of architecture: Architecture) -> [String: Any] {
        switch architecture {
        case .vgg(let c): return c.arguments
        case .resnet(let c): return c.arguments
        case .visionTransformer(let c): return c.arguments
        }
    }
}

/// Typed reading of one `model_args` dictionary.
struct ArgumentReader {
    let args: [String: Any]

    func int(_ key: String, default value: Int) throws -> Int {
        guard let raw = args[key] else { return value }
        if let v = raw as? Int { return v }
        if let d = raw as? Double, d == d.rounded() { return Int(d) }
        throw ModelConfigurationError.invalidArgument(name: key, reason: "expected an integer, got \(raw)")
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard let raw = args[key] else { return value }
        if let v = raw as? Double { return v }
        if let v = raw as? Int { return Double(v) }
        throw ModelConfigurationError.invalidArgument(name: key, reason: "expected a number, got \(raw)")
    }

    func ints(_ key: String, default value: [Int]) throws -> [Int] {
        guard let raw = args[key] else { return value }
        if let v = raw as? [Int] { return v }
        throw ModelConfigurationError.invalidArgument(name: key, reason: "expected a list of integers, got \(raw)")
    }

    func string(_ key: String) -> String? { args[key] as? String }

    /// Refuses an option unless it has one of the accepted (default) values.
    func require(_ key: String, in accepted: [String], reason: String) throws {
        guard let raw = args[key] else { return }
        let text = raw is NSNull ? "null" : "\(raw)"
        if !accepted.contains(text) {
            throw ModelConfigurationError.unsupportedOption(name: key, value: text, reason: reason)
        }
    }

    /// Refuses any key outside `known`.
    func rejectUnknown(_ known: Set<String>, family: String) throws {
        for key in args.keys.sorted() where !known.contains(key) {
            throw ModelConfigurationError.unsupportedOption(
                name: key, value: "\(args[key]!)", reason: "not supported for \(family) models here")
        }
    }
}

/// The registry of model families: a configuration names a family
/// (`"architecture": "resnet"`) or a timm model whose class is a family's
/// (`ResNet`), and the family decodes its `model_args`.
///
/// Adding a family is its own file (a ``ModelFamily`` and its
/// configuration) plus one line here.
public enum ModelFamilies {
    /// Every family, in the order `abslrp models` lists them.
    public static let all: [any ModelFamily.Type] = [
        VGGFamily.self,
        ResNetFamily.self,
        VisionTransformerFamily.self,
    ]

    /// The family called `name` in configuration files (`vit` is accepted
    /// for `vision_transformer`).
    public static func family(named name: String) -> (any ModelFamily.Type)? {
        all.first { $0.name == name } ?? (name == "vit" ? VisionTransformerFamily.self : nil)
    }

    /// The family whose networks are instances of timm's class `timmClass`.
    public static func family(timmClass: String) -> (any ModelFamily.Type)? {
        all.first { $0.timmClass == timmClass }
    }

    /// Decodes `modelArguments` (a JSON object of timm's keyword arguments)
    /// as `family`'s configuration.
    public static func architecture(_ family: any ModelFamily.Type, modelArguments: JSONValue) throws -> Architecture {
        guard case .object = modelArguments else {
            throw ModelConfigurationError.invalidValue(key: "model_args", value: "\(modelArguments)",
                                                       expected: "an object of timm's keyword arguments")
        }
        func decode<F: ModelFamily>(_ family: F.Type) throws -> Architecture {
            do {
                return Architecture(try modelArguments.decode(F.Configuration.self))
            } catch let error as DecodingError {
                throw ModelConfigurationError.invalidValue(key: "model_args", value: "\(modelArguments)",
                                                           expected: "\(family.name) arguments (\(error))")
            }
        }
        return try decode(family)
    }
}

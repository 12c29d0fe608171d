import Foundation

/// The timm model names this toolkit knows: every model registered in
/// timm's `vgg`, `resnet`, `vision_transformer`, `deit`, `eva` and `beit`
/// modules, with the keyword arguments its entrypoint passes to the model
/// class, its pretrained tags and input fields, and a digest of its
/// state-dict shapes. Generated from timm by `scripts/generate_timm_table.py`
/// and shipped as the package resource `timm_models.json`.
///
/// A name is supported when its class is a registered family's
/// (``ModelFamilies``) and that family decodes its arguments; otherwise it is
/// refused by the part it lacks (``status(of:)``).
public struct TimmModels: Decodable, Sendable {
    public let timmVersion: String
    public let models: [Entry]

    /// One timm model name.
    public struct Entry: Decodable, Sendable {
        public let name: String
        /// timm's module (`resnet`, `deit`, ...).
        public let module: String
        /// The class the entrypoint builds (`ResNet`, `VisionTransformerDistilled`, ...).
        public let timmClass: String
        /// The keyword arguments the entrypoint passes to the class.
        public let modelArguments: JSONValue
        /// Pretrained tag -> the default config's input fields (``PretrainedInputFields``).
        public let pretrained: [String: JSONValue]
        /// The tag `timm.create_model(name)` uses, if the model has any.
        public let defaultTag: String?
        /// Values of the parameters (`sum(p.numel() for p in model.parameters())`:
        /// resnet50 25,557,032), buffers not counted.
        public let parameters: Int
        /// Values of the buffers in the state dict (BatchNorm's running
        /// statistics; `num_batches_tracked` not counted, as it is not loaded).
        public let buffers: Int
        /// 64-bit FNV-1a (hex) of the sorted `key:d0,d1,...` lines of the
        /// state dict, joined by newlines (``TimmModels/shapesChecksum(_:)``).
        public let shapesChecksum: String

        enum CodingKeys: String, CodingKey {
            case name, module, timmClass = "class", modelArguments = "model_args", pretrained
            case defaultTag = "default_tag", parameters, buffers, shapesChecksum = "shapes_fnv1a64"
        }
    }

    enum CodingKeys: String, CodingKey {
        case timmVersion = "timm_version", models
    }

    /// The table shipped with the package (read once).
    public static func shipped() throws -> TimmModels { try shippedTable.get() }

    private static let shippedTable: Result<TimmModels, Error> = Result {
        guard let url = Bundle.module.url(forResource: "timm_models", withExtension: "json") else {
            throw TimmModelsError.missingResource("timm_models.json")
        }
        do {
            return try JSONDecoder().decode(TimmModels.self, from: Data(contentsOf: url))
        } catch {
            throw TimmModelsError.unreadable(url.path, "\(error)")
        }
    }

    /// The entry and pretrained tag of `name`, which may carry a tag
    /// (`resnet50.a1_in1k`); nil for a name timm does not have here.
    public func entry(named name: String) -> (entry: Entry, tag: String?)? {
        if let entry = models.first(where: { $0.name == name }) { return (entry, nil) }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let base = String(name[..<dot]), tag = String(name[name.index(after: dot)...])
        guard let entry = models.first(where: { $0.name == base }) else { return nil }
        return (entry, tag)
    }

    /// Whether this toolkit runs `entry`, or what it lacks.
    public func status(of entry: Entry) -> Status {
        do {
            _ = try entry.architecture()
            return .supported
        } catch ModelConfigurationError.refusedModel(_, let reason) {
            return .refused(reason: reason)
        } catch {
            return .refused(reason: "\(error)")
        }
    }

    /// The README's model list (between `<!-- timm-models -->` markers,
    /// `abslrp models --markdown`): per class the supported names, then the
    /// refused names grouped by what they lack.
    public func markdownList() -> String {
        var lines = ["Generated from timm \(timmVersion) by `scripts/generate_timm_table.py` "
                     + "(`abslrp models` lists the same with parameter counts as PyTorch's `model.parameters()`, "
                     + "buffer values apart).", ""]
        let statuses = models.map { ($0, status(of: $0)) }
        for timmClass in ModelFamilies.all.map({ $0.timmClass }) {
            let names = statuses.filter { $0.0.timmClass == timmClass && $0.1 == .supported }.map { "`\($0.0.name)`" }
            lines.append("- **\(timmClass)**, \(names.count) supported: " + names.joined(separator: ", "))
        }
        var refused: [String: [String]] = [:]
        for (entry, status) in statuses {
            if case .refused(let reason) = status { refused[reason, default: []].append("`\(entry.name)`") }
        }
        lines += ["", "Refused (\(refused.values.map(\.count).reduce(0, +)) names), by what they lack:"]
        for (reason, names) in refused.sorted(by: { $0.value.count > $1.value.count || ($0.value.count == $1.value.count && $0.key < $1.key) }) {
            lines.append("- \(reason): " + names.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// The checksum the generator records for a state dict's shapes: 64-bit
    /// FNV-1a, as 16 hex digits, of the sorted `key:d0,d1,...` lines joined by
    /// newlines (`num_batches_tracked` left out).
    public static func shapesChecksum(_ shapes: [(key: String, shape: [Int])]) -> String {
        let lines = shapes.filter { !$0.key.hasSuffix("num_batches_tracked") }
            .map { "\($0.key):\($0.shape.map(String.init).joined(separator: ","))" }.sorted()
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in lines.joined(separator: "\n").utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public enum Status: Equatable, Sendable {
        case supported
        case refused(reason: String)
    }
}

extension TimmModels.Entry {
    /// timm classes that are no family here, with what they have that the
    /// reference cannot explain.
    static let unsupportedClasses: [String: String] = [
        "VisionTransformerDistilled": "distillation token (dist_token, head_dist), which the reference's ViT rules do not cover",
        "Eva": "EVA blocks (rotary position embedding, SwiGLU MLP, layer scale), which the reference has no rules for",
        "Beit": "BEiT blocks (relative position bias, layer scale), which the reference has no rules for",
    ]

    /// The family's configuration of this name, with `tag`'s input size
    /// where the entrypoint passes `img_size` (timm sets it from the
    /// pretrained config), and `overrides` (a config file's `model_args`)
    /// applied key by key. Throws ``ModelConfigurationError/refusedModel(name:reason:)``
    /// naming what is missing.
    public func architecture(tag: String? = nil, overrides: [String: JSONValue] = [:]) throws -> Architecture {
        guard let family = ModelFamilies.family(timmClass: timmClass) else {
            throw ModelConfigurationError.refusedModel(
                name: name, reason: Self.unsupportedClasses[timmClass] ?? "timm class \(timmClass) is no model family here")
        }
        var arguments = modelArguments.objectValue ?? [:]
        if arguments["img_size"] != nil, let size = inputFields(tag: tag)?["input_size"], case .array(let chw) = size,
           chw.count == 3 {
            arguments["img_size"] = .array(Array(chw[1...]))
        }
        do {
            return try ModelFamilies.architecture(family, modelArguments: .object(arguments.merging(overrides) { $1 }))
        } catch let error as ModelConfigurationError where overrides.isEmpty {
            throw ModelConfigurationError.refusedModel(name: name, reason: "\(error)")
        }
    }

    /// The input fields of `tag` (the default tag when nil).
    public func inputFields(tag: String?) -> JSONValue? {
        guard let tag = tag ?? defaultTag else { return nil }
        return pretrained[tag]
    }
}

/// The shipped table cannot be read (a build without its resources).
public enum TimmModelsError: Error, CustomStringConvertible, Equatable {
    case missingResource(String)
    case unreadable(String, String)
    case unknownTag(name: String, tag: String, known: [String])

    public var description: String {
        switch self {
        case .missingResource(let name):
            return "the package resource \(name) is missing (the timm model table; regenerate it with scripts/generate_timm_table.py)"
        case .unreadable(let path, let reason): return "cannot read the timm model table \(path): \(reason)"
        case .unknownTag(let name, let tag, let known):
            return "timm model \(name) has no pretrained tag '\(tag)'; its tags are \(known.isEmpty ? "(none)" : known.joined(separator: ", "))"
        }
    }
}

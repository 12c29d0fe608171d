/// Reads one family's `model_args` inside its configuration's
/// `init(from:)`: every key must be one the family knows, every value of the
/// type and range the family can build, and each error names the key
/// (`model_args.depth`) and quotes the value as the file wrote it.
///
/// Bounds are sanity limits far above every timm model (the memory estimate
/// before building is the real guard against huge models).
struct ModelArguments {
    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
        var intValue: Int? { nil }
    }

    private let values: [String: JSONValue]

    /// Largest width, depth, size or class count a configuration may ask for.
    static let maximumCount = 1 << 20

    /// Reads the object and refuses keys outside `known`.
    init(_ decoder: Decoder, family: String, known: Set<String>) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var values: [String: JSONValue] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(JSONValue.self, forKey: key) }
        for key in values.keys.sorted() where !known.contains(key) {
            throw ModelConfigurationError.unknownArgument(family: family, key: key, value: "\(values[key]!)",
                                                          known: known.sorted())
        }
        self.values = values
    }

    func has(_ key: String) -> Bool { values[key] != nil && values[key] != .null }

    private func invalid(_ key: String, _ expected: String) -> ModelConfigurationError {
        .invalidValue(key: "model_args.\(key)", value: "\(values[key]!)", expected: expected)
    }

    /// An integer in `range` (`7.0` counts as 7; `7.5`, `1e300`, `"7"` do not).
    func int(_ key: String, default value: Int, in range: ClosedRange<Int> = 1...maximumCount) throws -> Int {
        guard let raw = values[key] else { return value }
        guard let v = raw.integerValue, range.contains(v) else {
            throw invalid(key, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// A finite number in `range`.
    func double(_ key: String, default value: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let raw = values[key] else { return value }
        guard let v = raw.numberValue, range.contains(v) else {
            throw invalid(key, "a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = values[key] else { return value }
        guard case .bool(let b) = raw else { throw invalid(key, "true or false") }
        return b
    }

    /// A string, or null (nil).
    func string(_ key: String, default value: String?) throws -> String? {
        guard let raw = values[key] else { return value }
        switch raw {
        case .null: return nil
        case .string(let s): return s
        default: throw invalid(key, "a string")
        }
    }

    /// A list of `count` integers (any length when nil), each in `range`.
    func ints(_ key: String, default value: [Int], count: Int? = nil,
              in range: ClosedRange<Int> = 1...maximumCount) throws -> [Int] {
        guard let raw = values[key] else { return value }
        let what = "a list of \(count.map(String.init) ?? "") integers from \(range.lowerBound) to \(range.upperBound)"
            .replacingOccurrences(of: "of  ", with: "of ")
        guard case .array(let items) = raw, !items.isEmpty, count == nil || items.count == count else {
            throw invalid(key, what)
        }
        return try items.map { item in
            guard let v = item.integerValue, range.contains(v) else { throw invalid(key, what) }
            return v
        }
    }

    /// The raw value, for lists of mixed entries (VGG's `cfg`).
    func raw(_ key: String) -> JSONValue? { values[key] }

    /// Refuses `key` unless it is absent or one of `accepted` (timm's values
    /// this toolkit runs), saying what the other values need.
    func require(_ key: String, in accepted: [JSONValue], reason: String) throws {
        guard let raw = values[key], !accepted.contains(raw) else { return }
        throw ModelConfigurationError.unsupportedOption(name: key, value: "\(raw)", reason: reason)
    }

    /// A boolean option this toolkit runs with one value only: another type
    /// is an invalid value, the other value an unsupported option.
    func requireBool(_ key: String, _ accepted: Bool, reason: String) throws {
        guard try bool(key, default: accepted) != accepted else { return }
        throw ModelConfigurationError.unsupportedOption(name: key, value: "\(!accepted)", reason: reason)
    }

    /// Refuses `key` unless it is absent, null, or a string naming one of
    /// `accepted` (timm's layer arguments: a class name or timm's short name).
    func requireLayer(_ key: String, in accepted: [String], reason: String) throws {
        guard let raw = values[key], raw != .null else { return }
        if case .string(let s) = raw, accepted.contains(s) { return }
        throw ModelConfigurationError.unsupportedOption(name: key, value: "\(raw)", reason: reason)
    }
}

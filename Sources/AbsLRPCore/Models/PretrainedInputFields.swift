/// The input fields of a configuration: how images become the model's
/// input (timm's `pretrained_cfg` fields `input_size`, `mean`, `std`,
/// `crop_pct`, and `label_names`). They are read from the top level of a
/// configuration file (the fixtures' form) or from its `pretrained_cfg`
/// (timm's `config.json`), the top level first; a field of the wrong type is
/// an error quoting it. This is the one place that reads them.
struct PretrainedInputFields {
    var inputSize: [Int]?
    var mean: [Float]?
    var std: [Float]?
    var cropPct: Float?
    var labelNames: [String]?

    /// Reads the fields of `document` (top level) and of `pretrained` (a
    /// `pretrained_cfg` object or a timm table entry's input fields).
    init(document: [String: JSONValue], pretrained: [String: JSONValue]) throws {
        func field(_ key: String) -> (String, JSONValue)? {
            if let v = document[key] { return (key, v) }
            return pretrained[key].map { ("pretrained_cfg.\(key)", $0) }
        }
        if let (key, v) = field("input_size") {
            guard case .array(let items) = v, items.count == 3,
                  let size = Optional(items.compactMap(\.integerValue)), size.count == 3,
                  size.allSatisfy({ (1...(1 << 16)).contains($0) }) else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "[C, H, W], integers from 1 to 65536")
            }
            inputSize = size
        }
        mean = try Self.numbers(field("mean"))
        std = try Self.numbers(field("std"))
        if let (key, v) = field("crop_pct") {
            guard let c = v.numberValue, c > 0, c <= 1 else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a number in (0, 1]")
            }
            cropPct = Float(c)
        }
        if let (key, v) = field("label_names") {
            guard case .array(let items) = v, let names = Optional(items.compactMap(\.stringValue)), names.count == items.count else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a list of class names")
            }
            labelNames = names
        }
    }

    private static func numbers(_ field: (String, JSONValue)?) throws -> [Float]? {
        guard let (key, v) = field else { return nil }
        guard case .array(let items) = v, !items.isEmpty,
              let values = Optional(items.compactMap(\.numberValue)), values.count == items.count,
              values.allSatisfy({ abs($0) <= 1e6 }) else {
            throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a list of finite numbers, one per channel")
        }
        return values.map(Float.init)
    }

    /// Sets the fields given on `configuration`.
    func apply(to configuration: inout ModelConfiguration) {
        if let inputSize { configuration.inputSize = inputSize }
        if let mean { configuration.mean = mean }
        if let std { configuration.std = std }
        if let cropPct { configuration.cropPct = cropPct }
        if let labelNames { configuration.labelNames = labelNames }
    }
}

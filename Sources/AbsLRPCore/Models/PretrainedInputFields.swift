/// The input fields of a configuration (``DataConfiguration``'s table) and
/// `label_names`, read from the top level of a configuration file (the
/// fixtures' form) or from its `pretrained_cfg` (timm's `config.json`, or a
/// timm table entry's input fields), the top level first. A field of the
/// wrong type is an error quoting it as the file wrote it; a value that is
/// understood but not supported (`interpolation: random`, `label_offset: 1`)
/// is refused by name. This is the one place that reads them.
struct PretrainedInputFields {
    private var apply: [(inout ModelConfiguration) -> Void] = []

    /// Reads the fields of `document` (top level) and of `pretrained`.
    init(document: [String: JSONValue], pretrained: [String: JSONValue]) throws {
        func field(_ key: String) -> (String, JSONValue)? {
            if let v = document[key], v != .null { return (key, v) }
            if let v = pretrained[key], v != .null { return ("pretrained_cfg.\(key)", v) }
            return nil
        }
        if let size = try Self.size(field("input_size")) { apply.append { $0.data.inputSize = size } }
        if let (key, v) = field("interpolation") {
            guard let name = v.stringValue, let filter = ResamplingFilter(rawValue: name) else {
                if v.stringValue == "random" {
                    throw ModelConfigurationError.unsupportedOption(
                        name: key, value: "random", reason: "evaluation needs one interpolation")
                }
                throw ModelConfigurationError.invalidValue(
                    key: key, value: "\(v)", expected: ResamplingFilter.allCases.map(\.rawValue).joined(separator: ", "))
            }
            apply.append { $0.data.interpolation = filter }
        }
        if let (key, v) = field("crop_mode") {
            guard let mode = v.stringValue.flatMap(DataConfiguration.CropMode.init(rawValue:)) else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "center, squash or border")
            }
            apply.append { $0.data.cropMode = mode }
        }
        if let crop = try Self.fraction(field("crop_pct")) { apply.append { $0.data.cropPct = crop } }
        if let mean = try Self.numbers(field("mean")) { apply.append { $0.data.mean = mean } }
        if let std = try Self.numbers(field("std")) { apply.append { $0.data.std = std } }
        if let size = try Self.size(field("test_input_size")) { apply.append { $0.data.testInputSize = size } }
        if let crop = try Self.fraction(field("test_crop_pct")) { apply.append { $0.data.testCropPct = crop } }
        if let size = try Self.size(field("min_input_size")) { apply.append { $0.data.minInputSize = size } }
        if let (key, v) = field("fixed_input_size") {
            guard case .bool(let fixed) = v else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "true or false")
            }
            apply.append { $0.data.fixedInputSize = fixed }
        }
        if let (key, v) = field("label_offset") {
            guard let offset = v.integerValue else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "an integer")
            }
            if offset != 0 {
                throw ModelConfigurationError.unsupportedOption(
                    name: key, value: "\(offset)", reason: "a label offset (an extra background class) is not supported")
            }
        }
        if let (key, v) = field("label_names") {
            guard case .array(let items) = v, let names = Optional(items.compactMap(\.stringValue)), names.count == items.count else {
                throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a list of class names")
            }
            apply.append { $0.labelNames = names }
        }
    }

    private static func size(_ field: (String, JSONValue)?) throws -> [Int]? {
        guard let (key, v) = field else { return nil }
        guard case .array(let items) = v, items.count == 3,
              let size = Optional(items.compactMap(\.integerValue)), size.count == 3,
              size.allSatisfy({ (1...(1 << 16)).contains($0) }) else {
            throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "[C, H, W], integers from 1 to 65536")
        }
        return size
    }

    private static func fraction(_ field: (String, JSONValue)?) throws -> Double? {
        guard let (key, v) = field else { return nil }
        guard let c = v.numberValue, c > 0, c <= 1 else {
            throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a number in (0, 1]")
        }
        return c
    }

    private static func numbers(_ field: (String, JSONValue)?) throws -> [Double]? {
        guard let (key, v) = field else { return nil }
        guard case .array(let items) = v, !items.isEmpty,
              let values = Optional(items.compactMap(\.numberValue)), values.count == items.count,
              values.allSatisfy({ abs($0) <= 1e6 }) else {
            throw ModelConfigurationError.invalidValue(key: key, value: "\(v)", expected: "a list of finite numbers, one per channel")
        }
        return values
    }

    /// Sets the fields given on `configuration`.
    func apply(to configuration: inout ModelConfiguration) {
        for set in apply { set(&configuration) }
    }
}

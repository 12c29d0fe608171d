/// Relevancy methods by the names users type.
public enum RelevancyMethods {
    /// Every method name, in the order reports list them.
    public static let names = ["abslrp"]

    /// The method `name` for `classifier`; unknown names and methods that do
    /// not apply to the architecture are errors that say so.
    public static func make(_ name: String, classifier: Classifier) throws -> RelevancyMethod {
        switch name {
        case "abslrp": return AbsLRP(classifier: classifier)
        default: throw RelevancyMethodError.unknownMethod(name, known: names)
        }
    }
}

/// A method that cannot be used as asked.
public enum RelevancyMethodError: Error, CustomStringConvertible, Equatable {
    case unknownMethod(String, known: [String])
    case notApplicable(method: String, architecture: String, reason: String)

    public var description: String {
        switch self {
        case .unknownMethod(let name, let known):
            return "unknown method '\(name)'; available: \(known.joined(separator: ", "))"
        case .notApplicable(let method, let architecture, let reason):
            return "method '\(method)' does not apply to \(architecture) models: \(reason)"
        }
    }
}

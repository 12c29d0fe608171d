import ArgumentParser
import AbsLRPCore
import GAE

/// `--methods`: names separated by commas (or given as several values), or `all`.
struct MethodList: ExpressibleByArgument, Equatable {
    /// nil: every method that applies to the model (`all`).
    var names: [String]?

    init(names: [String]?) { self.names = names }

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        guard !parts.isEmpty else { return nil }
        if parts == ["all"] { names = nil; return }
        guard parts.allSatisfy(RelevancyMethods.names.contains) else { return nil }
        names = parts
    }

    var defaultValueDescription: String { names?.joined(separator: ",") ?? "all" }

    static var allValueStrings: [String] { RelevancyMethods.names + ["all"] }

    /// Several `--methods` values in one list (`all` anywhere: every method).
    static func joined(_ lists: [MethodList]) -> MethodList {
        lists.contains { $0.names == nil } ? MethodList(names: nil) : MethodList(names: lists.flatMap { $0.names! })
    }

    /// The names for `classifier`.
    func resolved(for classifier: Classifier) -> [String] { names ?? RelevancyMethods.applicable(to: classifier) }
}

/// `--method NAME`: one of the method names (`RelevancyMethods.names`), lower case.
struct MethodName: ExpressibleByArgument, Equatable {
    var name: String

    init(name: String) { self.name = name }

    init?(argument: String) {
        let name = argument.trimmingCharacters(in: .whitespaces).lowercased()
        guard RelevancyMethods.names.contains(name) else { return nil }
        self.name = name
    }

    var defaultValueDescription: String { name }

    static var allValueStrings: [String] { RelevancyMethods.names }
}

/// `--composite NAME`: one of the library's composites (`NamedComposites`).
struct CompositeName: ExpressibleByArgument, Equatable {
    var name: String

    init?(argument: String) {
        guard NamedComposites.names.contains(argument) else { return nil }
        name = argument
    }

    static var allValueStrings: [String] { NamedComposites.names }
}

/// `--shard K/N`.
extension Shard: ExpressibleByArgument {
    public init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let k = parts[0], let n = parts[1], n > 0, (0..<n).contains(k) else { return nil }
        self.init(index: k, count: n)
    }

    public var defaultValueDescription: String { "\(index)/\(count)" }
}

/// `--pairing consistent|reference`.
extension PositivePairing: ExpressibleByArgument {}

/// Refuses an empty value of a path option or argument (`--out ""`): Foundation
/// reads an empty path as the current folder (`URL(fileURLWithPath: "")`), so it
/// would write into, or read, a folder nobody named.
/// - Parameter paths: (the option as the user wrote it, its value) pairs; nil values are options not given.
func refuseEmptyPaths(_ paths: KeyValuePairs<String, String?>) throws {
    for (option, value) in paths where value?.isEmpty == true {
        throw ValidationError("\(option) is empty: give a path (an empty one would mean the current folder)")
    }
}

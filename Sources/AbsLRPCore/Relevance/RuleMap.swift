/// Which rule each operation of a model takes in a backward walk: the map
/// `operation -> rule` that a `BackwardContext` carries. Operations without
/// an entry take `fallback`.
///
/// Built by a `Composite` (`Composite.ruleMap(for:)`), or uniform for the
/// gradient passes (`RuleMap.gradient`, `RuleMap.detachedGradient`).
public struct RuleMap: Sendable {
    /// The rule of every operation without an entry.
    public var fallback: any RelevanceRule
    private var entries: [ObjectIdentifier: any RelevanceRule] = [:]

    public init(fallback: any RelevanceRule) { self.fallback = fallback }

    /// The true gradient everywhere (`vjp`).
    public static let gradient = RuleMap(fallback: GradientRule())
    /// The gradient of the reference's modified forward everywhere (`detachedVJP`).
    public static let detachedGradient = RuleMap(fallback: DetachedGradientRule())

    /// `operation`'s rule.
    public subscript(operation: Operation) -> any RelevanceRule {
        entries[ObjectIdentifier(operation)] ?? fallback
    }

    /// `operation`'s rule if one was assigned (not the fallback).
    public func assignedRule(of operation: Operation) -> (any RelevanceRule)? {
        entries[ObjectIdentifier(operation)]
    }

    /// Gives `operation` the rule `rule`.
    public mutating func assign(_ rule: any RelevanceRule, to operation: Operation) {
        entries[ObjectIdentifier(operation)] = rule
    }
}

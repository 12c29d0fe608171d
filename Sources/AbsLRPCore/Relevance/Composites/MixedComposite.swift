/// Several composites in order (Zennit's `MixedComposite`; a name map before
/// a layer map is its `NameLayerMapComposite`): each operation takes the rule
/// of the first composite that assigns it one, otherwise the first
/// composite's fallback.
public struct MixedComposite: Composite {
    public var composites: [any Composite]

    public init(_ composites: [any Composite]) {
        precondition(!composites.isEmpty, "a mixed composite needs at least one composite")
        self.composites = composites
    }

    public func ruleMap(for network: Module) -> RuleMap {
        let maps = composites.map { $0.ruleMap(for: network) }
        var map = RuleMap(fallback: maps[0].fallback)
        for operation in network.operations {
            if let rule = maps.lazy.compactMap({ $0.assignedRule(of: operation) }).first { map.assign(rule, to: operation) }
        }
        return map
    }
}

/// Several composites in order (Zennit's `MixedComposite`; a name map before
/// a layer map is its `NameLayerMapComposite`): each operation takes the rule
/// of the first composite that assigns it one, otherwise the first
/// composite's fallback; with no composites, the gradient everywhere (as
/// Zennit's, which then registers no rule).
public struct MixedComposite: Composite {
    public var composites: [any Composite]

    public init(_ composites: [any Composite]) {
        self.composites = composites
    }

    public func ruleMap(for network: Module) -> RuleMap {
        let maps = composites.map { $0.ruleMap(for: network) }
        var map = RuleMap(fallback: maps.first?.fallback ?? GradientRule())
        for operation in network.operations {
            if let rule = maps.lazy.compactMap({ $0.assignedRule(of: operation) }).first { map.assign(rule, to: operation) }
        }
        return map
    }
}

/// Rules by module name (Zennit's `NameMapComposite`): an operation whose
/// dotted name (`features.0`, `layer1.0.conv1`) is in an entry's names takes
/// that entry's rule (the first such entry); others take `fallback`.
public struct NameMapComposite: Composite {
    public var nameMap: [(names: Set<String>, rule: any RelevanceRule)]
    public var fallback: any RelevanceRule

    public init(_ nameMap: [(names: Set<String>, rule: any RelevanceRule)], fallback: any RelevanceRule = GradientRule()) {
        self.nameMap = nameMap
        self.fallback = fallback
    }

    public func ruleMap(for network: Module) -> RuleMap {
        var map = RuleMap(fallback: fallback)
        for operation in network.operations {
            if let entry = nameMap.first(where: { $0.names.contains(operation.name) }) { map.assign(entry.rule, to: operation) }
        }
        return map
    }
}

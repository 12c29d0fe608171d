/// Rules by layer type (Zennit's `LayerMapComposite`): each operation takes
/// the rule of the first entry whose kind it matches; others take `fallback`.
///
///     LayerMapComposite([(.activation, PassRule()), (.convolution, ZPlusRule()),
///                        (.dense, EpsilonRule())])
public struct LayerMapComposite: Composite {
    public var layerMap: [(kind: LayerKind, rule: any RelevanceRule)]
    public var fallback: any RelevanceRule

    public init(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)], fallback: any RelevanceRule = GradientRule()) {
        self.layerMap = layerMap
        self.fallback = fallback
    }

    /// The rule of the first entry that `operation` matches.
    public func rule(for operation: Operation) -> (any RelevanceRule)? {
        layerMap.first { $0.kind.matches(operation) }?.rule
    }

    public func ruleMap(for network: Module) -> RuleMap {
        var map = RuleMap(fallback: fallback)
        for operation in network.operations {
            if let rule = rule(for: operation) { map.assign(rule, to: operation) }
        }
        return map
    }
}

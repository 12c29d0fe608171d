/// Rules by layer type with a special first layer (Zennit's
/// `SpecialFirstLayerMapComposite`): the first operation, in registration
/// order, that matches an entry of `firstMap` takes that rule (LRP-flat or
/// z-box for the input layer); every other operation takes `layers`' rules.
public struct SpecialFirstLayerMapComposite: Composite {
    public var layers: LayerMapComposite
    public var firstMap: [(kind: LayerKind, rule: any RelevanceRule)]

    public init(_ layers: LayerMapComposite, firstMap: [(kind: LayerKind, rule: any RelevanceRule)]) {
        self.layers = layers
        self.firstMap = firstMap
    }

    public func ruleMap(for network: Module) -> RuleMap {
        var map = layers.ruleMap(for: network)
        for operation in network.operations {
            if let entry = firstMap.first(where: { $0.kind.matches(operation) }) {
                map.assign(entry.rule, to: operation)
                break
            }
        }
        return map
    }
}

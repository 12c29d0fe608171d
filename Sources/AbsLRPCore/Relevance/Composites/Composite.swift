/// A map from a model's layers to relevance rules (Zennit's `Composite`):
/// given the module tree, the `RuleMap` a backward walk uses. Operations it
/// assigns no rule take `fallback` (the gradient, as in Zennit, unless the
/// composite says otherwise).
///
/// Composites are built from the three ways Zennit maps layers
/// (`LayerMapComposite` by type, `NameMapComposite` by name,
/// `SpecialFirstLayerMapComposite` for the first layer) and combined with
/// `MixedComposite` (first match wins). The model families expose their absLRP
/// composites (`VGG.absLRPComposite`, ...); `ZennitComposites` holds Zennit
/// 0.5.1's standard LRP composites; a user passes their own to `AbsLRP` or
/// `LayerwiseRelevance`.
public protocol Composite: Sendable {
    /// The rule each operation of `network` takes (unassigned ones: `fallback`).
    func ruleMap(for network: Module) -> RuleMap
}

extension Composite {
    /// ``ruleMap(for:)``, checked: every operation of `network` (those the
    /// fallback covers too) must accept its rule (``RelevanceRule/refusal(at:)``).
    /// - Throws: ``CompositeError/ruleDoesNotApply(operation:layer:rule:reason:)``
    ///   for the first operation, in registration order, that refuses it.
    public func checkedRuleMap(for network: Module) throws -> RuleMap {
        let map = ruleMap(for: network)
        for operation in network.operations {
            let rule = map[operation]
            if let reason = rule.refusal(at: operation) {
                throw CompositeError.ruleDoesNotApply(operation: operation.name, layer: "\(type(of: operation))",
                                                      rule: "\(type(of: rule))", reason: reason)
            }
        }
        return map
    }
}

extension Module {
    /// Every operation at or below this module, depth first in registration
    /// order (the order of Zennit's `named_modules`, timm's registration).
    public var operations: [Operation] { allModules.compactMap { $0 as? Operation } }
}

/// A set of operations by what they are (Zennit's `types.Convolution`,
/// `types.Linear`, ...), for `LayerMapComposite`.
public struct LayerKind: Sendable, CustomStringConvertible {
    public let description: String
    private let test: @Sendable (Operation) -> Bool

    public init(_ description: String, matches: @escaping @Sendable (Operation) -> Bool) {
        self.description = description
        test = matches
    }

    /// Whether `operation` is of this kind.
    public func matches(_ operation: Operation) -> Bool { test(operation) }

    /// Operations of class `T` or a subclass of it.
    public static func type<T: Operation>(_: T.Type) -> LayerKind { LayerKind("\(T.self)") { $0 is T } }

    /// Conv2d (Zennit's `Convolution`).
    public static let convolution = type(Conv2d.self)
    /// Linear, the dense layer (`torch.nn.Linear`).
    public static let dense = type(Linear.self)
    /// Conv2d and Linear (Zennit's `types.Linear`).
    public static let affine = type(AffineLayer.self)
    /// Elementwise activations (Zennit's `Activation`: ReLU, GELU).
    public static let activation = LayerKind("activation") { $0 is ReLU || $0 is GELU }
    /// BatchNorm2d (Zennit's `BatchNorm`).
    public static let batchNorm = type(BatchNorm2d.self)
    /// Average pools (Zennit's `AvgPool`: AvgPool2d, AdaptiveAvgPool2d).
    public static let averagePool = LayerKind("average pool") { $0 is AvgPool2d || $0 is AdaptiveAvgPool2d }
    /// Every operation.
    public static let any = LayerKind("any") { _ in true }
}

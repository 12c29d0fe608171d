import Foundation

/// An image classifier: a configuration, the network built from it (a timm
/// module tree), and the passes every explanation method is made of.
///
/// - input: (B, C, H, W) preprocessed images; output: logits (B, K).
public final class Classifier {
    public let configuration: ModelConfiguration
    /// The root of the module tree (name ""); state-dict keys are its paths.
    public let network: Module

    /// Builds the network with zero weights (load weights next, or randomise).
    public init(configuration: ModelConfiguration) {
        _ = HeapReuse.applied
        self.configuration = configuration
        network = configuration.architecture.makeNetwork()
    }

    /// Outputs per image: the classes, or for a model without a head
    /// (`num_classes` 0) its pooled features, which then take the place of
    /// classes as targets.
    public var numClasses: Int { hasClassifierHead ? configuration.numClasses : configuration.architecture.numFeatures }

    /// Whether the model ends in a classifier (`num_classes` > 0).
    public var hasClassifierHead: Bool { configuration.numClasses > 0 }

    /// Checks that a batch fits the model: (B >= 1, C, H >= 1, W >= 1) with
    /// the model's channels, H, W a size the family's network takes
    /// (``ModelFamily/validateInput(height:width:_:model:)``), and every
    /// value finite (``NonFiniteValueError`` naming `name` and the index).
    public func validateInput(_ x: Tensor, name: String = "the input batch") throws {
        let c = configuration
        guard x.rank == 4, x.shape[0] >= 1, x.shape[1] == c.inChannels, x.shape[2] >= 1, x.shape[3] >= 1 else {
            throw ClassifierInputError.wrongShape(expected: "(B, \(c.inChannels), H, W)", actual: x.shape)
        }
        try x.requireFinite(name)
        try c.architecture.validateInput(height: x.shape[2], width: x.shape[3], model: c.name)
    }

    /// Logits without recording anything.
    public func logits(_ x: Tensor) -> Tensor {
        network.forward(x, ForwardContext())
    }

    /// Logits and the tape that backward passes walk.
    public func recordedForward(_ x: Tensor) -> (logits: Tensor, tape: Tape) {
        let tape = Tape()
        return (network.forward(x, ForwardContext(tape: tape)), tape)
    }

    /// The reference's absLRP rules for this model's family
    /// (``ModelFamily/absLRPComposite``: `VGG.absLRPComposite`, ...).
    public var absLRPComposite: any Composite { configuration.architecture.family.absLRPComposite }

    /// An LRP composite of `layerMap` (first match wins, then `fallback`) as
    /// this family runs LRP (``ModelFamily/lrpComposite(_:fallback:)``): for
    /// Vision Transformers CP-LRP, i.e. after the pass-through identities and
    /// the constant attention softmax (`VisionTransformer.conservativeComposite`);
    /// as given for CNNs.
    public func lrpComposite(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)],
                             fallback: any RelevanceRule) -> any Composite {
        configuration.architecture.family.lrpComposite(layerMap, fallback: fallback)
    }

    /// Propagates `outputSignal` (B, K) from the logits back to the input
    /// with `rules`, over a recorded forward. With `traces`, also returns the
    /// value at every module's input by module name (`model` for the input).
    public func backward(_ outputSignal: Tensor, tape: Tape, rules: RuleMap, traces: Bool = false,
                         releasingRecords: Bool = false) -> (input: Tensor, traces: [String: Tensor]) {
        let context = BackwardContext(tape: tape, rules: rules, recordTraces: traces, releasesRecords: releasingRecords)
        let result = network.backward(outputSignal, context)
        return (result, context.traces ?? [:])
    }

    /// Gradient of `sum_b logits[b, targets[b]]` with respect to the input,
    /// on the unmodified model.
    public func inputGradient(_ x: Tensor, targets: [Int]) -> (logits: Tensor, gradient: Tensor) {
        let (logits, tape) = recordedForward(x)
        let seed = Tensor.oneHot(targets, classes: logits.shape[1])
        return (logits, backward(seed, tape: tape, rules: .gradient).input)
    }
}

/// A batch the model cannot take.
public enum ClassifierInputError: Error, CustomStringConvertible, Equatable {
    case wrongShape(expected: String, actual: [Int])
    case wrongSize(model: String, expected: String, actual: [Int])
    case targetOutOfRange(target: Int, classes: Int)
    case targetCount(expected: Int, actual: Int)
    /// A class explanation asked of a model without a classifier head.
    case noClassifierHead(model: String, features: Int)

    public var description: String {
        switch self {
        case .wrongShape(let e, let a): return "input shape \(a) does not fit the model: expected \(e)"
        case .wrongSize(let m, let e, let a): return "model \(m) takes images of \(e), got \(a[0])x\(a[1])"
        case .targetOutOfRange(let t, let k): return "target class \(t) is out of range: the model has classes 0..<\(k)"
        case .targetCount(let e, let a): return "\(a) targets for a batch of \(e) images"
        case .noClassifierHead(let m, let k):
            return "model \(m) has no classifier head (num_classes=0), so there is no class to explain: its outputs are "
                + "\(k) pooled features; give a target feature (0..<\(k)) to explain one"
        }
    }
}

extension Tensor {
    /// (B, K) one-hot rows.
    public static func oneHot(_ indices: [Int], classes: Int) -> Tensor {
        var t = Tensor(shape: [indices.count, classes])
        for (b, i) in indices.enumerated() { t.storage[b * classes + i] = 1 }
        return t
    }
}

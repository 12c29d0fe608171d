/// Layer-wise relevance propagation with a composite (Bach et al. 2015;
/// Zennit's `Gradient` attributor under a composite): from the explained
/// logit, `R = onehot(t) * f(x)` (B, K) at the output (Captum's convention:
/// a conservative pass distributes `f_t(x)` over the input), every operation
/// applies the rule its composite gives it over one recorded forward. The
/// attribution is the relevance at the input (B, C, H, W), unnormalised.
///
/// The baselines `lrp-epsilon` and `lrp-zplus` are two such composites
/// (`epsilon`, `zPlus`); in Vision Transformers they run as CP-LRP
/// (`Classifier.lrpComposite`): attention weights and LayerNorm statistics
/// constant, identities passing relevance through, the position
/// embedding's share dropped.
public final class LayerwiseRelevance: AttributionMethod {
    public let name: String
    public let classifier: Classifier
    /// Which rule each layer takes.
    public let composite: any Composite
    /// The model the rules run on: `classifier` itself, or its copy with the
    /// canonizers applied (BatchNorm merged, `SequentialBatchNormMerge`).
    public let canonized: Classifier
    private let rules: RuleMap

    /// - Throws: ``CompositeError`` when the composite gives a layer a rule
    ///   that cannot run there (``Composite/checkedRuleMap(for:)``).
    public init(name: String, classifier: Classifier, composite: any Composite, canonizers: [any Canonizer] = []) throws {
        self.name = name
        self.classifier = classifier
        self.composite = composite
        canonized = classifier.canonized(by: canonizers)
        rules = try composite.checkedRuleMap(for: canonized.network)
    }

    /// LRP-epsilon everywhere (`EpsilonRule`; Zennit's default `eps` 1e-6
    /// makes it practically LRP-0; with `eps -> 0` on a bias-free ReLU network
    /// the result is input x gradient).
    public static func epsilon(classifier: Classifier, epsilon: Float) throws -> LayerwiseRelevance {
        guard epsilon >= 0, epsilon.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "epsilon", reason: "need a finite value >= 0, got \(epsilon)")
        }
        return try LayerwiseRelevance(name: "lrp-epsilon", classifier: classifier,
                                  composite: classifier.lrpComposite([], fallback: EpsilonRule(epsilon: epsilon)))
    }

    /// LRP-z+ on Conv2d and Linear (`ZPlusRule`), LRP-0 (epsilon 1e-9) on
    /// every other layer; stabiliser 1e-9.
    public static func zPlus(classifier: Classifier) throws -> LayerwiseRelevance {
        try LayerwiseRelevance(name: "lrp-zplus", classifier: classifier,
                           composite: classifier.lrpComposite([(.affine, ZPlusRule(stabilizer: relevanceEpsilon))],
                                                              fallback: EpsilonRule(epsilon: relevanceEpsilon)))
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let (batch, pass) = try relevancePass(x, targets: targets, traces: false)
        return Attribution(batch, pass.input)
    }

    /// The LRP pass, traced (on the canonized model, whose module names are the model's).
    public func tracedPass(_ x: Tensor, targets: [Int]?) throws -> (pass: String, traces: [String: Tensor]) {
        ("LRP", try relevancePass(x, targets: targets, traces: true).pass.traces)
    }

    /// The recorded forward of the canonized model and the backward under the composite's rules.
    private func relevancePass(_ x: Tensor, targets: [Int]?, traces: Bool)
        throws -> (batch: RecordedBatch, pass: (input: Tensor, traces: [String: Tensor])) {
        try classifier.validateInput(x)
        let (logits, tape) = canonized.recordedForward(x)
        let batch = RecordedBatch(logits: logits, tape: tape, targets: try resolveTargets(targets, logits: logits))
        return (batch, canonized.backward(batch.targetLogitSeed, tape: tape, rules: rules, traces: traces))
    }
}

extension LayerwiseRelevance {
    /// The method names of Zennit's standard composites: `lrp-` and the
    /// composite's name (`ZennitComposites.names`).
    public static let zennitMethodNames = ZennitComposites.names.map { "lrp-" + $0 }

    /// Zennit's composite of method `name` (one of `zennitMethodNames`) on a
    /// VGG or ResNet, canonized as Zennit does (`ZennitComposites.canonizers`),
    /// with `epsilon` and `gamma` (`ZennitComposites.composite(named:for:epsilon:gamma:)`).
    public static func zennit(_ name: String, classifier: Classifier, epsilon: Float = 1e-6,
                              gamma: Float = 0.25) throws -> LayerwiseRelevance {
        guard zennitMethodNames.contains(name) else { throw RelevancyMethodError.unknownMethod(name, known: zennitMethodNames) }
        do {
            let composite = try ZennitComposites.composite(named: String(name.dropFirst("lrp-".count)), for: classifier,
                                                           epsilon: epsilon, gamma: gamma)
            return try LayerwiseRelevance(name: name, classifier: classifier, composite: composite,
                                      canonizers: ZennitComposites.canonizers)
        } catch RelevancyMethodError.notApplicable(_, let architecture, let reason) {
            throw RelevancyMethodError.notApplicable(method: name, architecture: architecture, reason: reason)
        }
    }
}

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
    private let rules: RuleMap

    public init(name: String, classifier: Classifier, composite: any Composite) {
        self.name = name
        self.classifier = classifier
        self.composite = composite
        rules = composite.ruleMap(for: classifier.network)
    }

    /// LRP-epsilon everywhere (`EpsilonRule`; Zennit's default `eps` 1e-6
    /// makes it practically LRP-0; with `eps -> 0` on a bias-free ReLU network
    /// the result is input x gradient).
    public static func epsilon(classifier: Classifier, epsilon: Float) throws -> LayerwiseRelevance {
        guard epsilon >= 0, epsilon.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "epsilon", reason: "need a finite value >= 0, got \(epsilon)")
        }
        return LayerwiseRelevance(name: "lrp-epsilon", classifier: classifier,
                                  composite: classifier.lrpComposite([], fallback: EpsilonRule(epsilon: epsilon)))
    }

    /// LRP-z+ on Conv2d and Linear (`ZPlusRule`), LRP-0 (epsilon 1e-9) on
    /// every other layer; stabiliser 1e-9.
    public static func zPlus(classifier: Classifier) -> LayerwiseRelevance {
        LayerwiseRelevance(name: "lrp-zplus", classifier: classifier,
                           composite: classifier.lrpComposite([(.affine, ZPlusRule(stabilizer: relevanceEpsilon))],
                                                              fallback: EpsilonRule(epsilon: relevanceEpsilon)))
    }

    public func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        let batch = try recordBatch(x, targets: targets)
        return classifier.backward(batch.targetLogitSeed, tape: batch.tape, rules: rules).input
    }
}

/// Absolute Magnitude Layer-Wise Relevance Propagation, contrastive form
/// (spec section 3):
///
///     positive = absLRP pass from onehot(t)
///     negative = absLRP pass from (1 - onehot(t)) / (K - 1)
///     relevance = normalize_max(positive - negative)
///
/// One recorded forward serves both passes. The rules are the family's
/// (`Classifier.absLRPComposite`) unless a composite is given.
public final class AbsLRP: RelevancyMethod {
    public let name = "abslrp"
    public let classifier: Classifier
    /// Which rule each layer takes.
    public let composite: any Composite
    private let rules: RuleMap

    public init(classifier: Classifier, composite: (any Composite)? = nil) {
        self.classifier = classifier
        self.composite = composite ?? classifier.absLRPComposite
        rules = self.composite.ruleMap(for: classifier.network)
    }

    /// Everything one explanation produces.
    public struct Explanation {
        public var logits: Tensor
        public var targets: [Int]
        /// `normalize_max(positive - negative)`, (B, C, H, W).
        public var relevance: Tensor
        /// Relevance of the target pass (L1 mass 1 per image).
        public var positive: Tensor
        /// Relevance of the all-other-classes pass (L1 mass 1 per image).
        public var negative: Tensor
        /// Positive-pass relevance at every module's input, when asked for.
        public var traces: [String: Tensor]
    }

    public func explain(_ x: Tensor, targets: [Int]? = nil, traces: Bool = false) throws -> Explanation {
        try classifier.validateInput(x)
        let (logits, tape) = classifier.recordedForward(x)
        let t = try resolveTargets(targets, logits: logits)
        let k = logits.shape[1]
        let positiveSeed = Tensor.oneHot(t, classes: k)
        let negativeSeed = positiveSeed.map { 1 - $0 }.normalizedSum()
        let positive = classifier.backward(positiveSeed, tape: tape, rules: rules, traces: traces)
        let negative = classifier.backward(negativeSeed, tape: tape, rules: rules)
        return Explanation(logits: logits, targets: t, relevance: (positive.input - negative.input).normalizedMax(),
                           positive: positive.input, negative: negative.input, traces: positive.traces)
    }

    public func relevance(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try explain(x, targets: targets).relevance
    }
}

/// Absolute Magnitude Layer-Wise Relevance Propagation, contrastive form
/// (spec section 3):
///
///     positive = absLRP pass from onehot(t)
///     negative = absLRP pass from (1 - onehot(t)) / (K - 1)
///     relevance = normalize_max(positive - negative)
///
/// One recorded forward serves both passes.
public final class AbsLRP: RelevancyMethod {
    public let name = "abslrp"
    public let classifier: Classifier

    public init(classifier: Classifier) { self.classifier = classifier }

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
        let positive = classifier.backward(positiveSeed, tape: tape, mode: .absLRP, traces: traces)
        let negative = classifier.backward(negativeSeed, tape: tape, mode: .absLRP)
        return Explanation(logits: logits, targets: t, relevance: (positive.input - negative.input).normalizedMax(),
                           positive: positive.input, negative: negative.input, traces: positive.traces)
    }

    public func relevance(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try explain(x, targets: targets).relevance
    }
}

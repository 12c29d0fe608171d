/// Absolute Magnitude Layer-Wise Relevance Propagation, contrastive form
/// (spec section 3):
///
///     positive = absLRP pass from onehot(t)
///     negative = absLRP pass from (1 - onehot(t)) / (K - 1)
///     relevance = normalize_max(positive - negative)
///
/// One recorded forward serves both passes, which run concurrently and
/// release each layer's record once both have passed it. The
/// rules are the family's (`Classifier.absLRPComposite`) unless a composite
/// is given (with the canonizers it is used with: `NamedComposites`).
public final class AbsLRP: RecordedRelevancyMethod {
    public let name: String
    public let classifier: Classifier
    /// Which rule each layer takes.
    public let composite: any Composite
    /// The model the rules run on: `classifier` itself, or its copy with the
    /// canonizers applied.
    public let canonized: Classifier
    private let rules: RuleMap

    /// absLRP under the family's composite (`Classifier.absLRPComposite`),
    /// whose rules apply to every layer of the family.
    public init(classifier: Classifier) {
        name = "abslrp"
        self.classifier = classifier
        composite = classifier.absLRPComposite
        canonized = classifier
        rules = composite.ruleMap(for: classifier.network)
    }

    /// absLRP under `composite`, on a copy of the model with `canonizers` applied.
    /// - Throws: ``CompositeError`` when the composite gives a layer a rule
    ///   that cannot run there (``Composite/checkedRuleMap(for:)``).
    public init(classifier: Classifier, composite: any Composite, canonizers: [any Canonizer] = [],
                name: String = "abslrp") throws {
        self.name = name
        self.classifier = classifier
        self.composite = composite
        canonized = classifier.canonized(by: canonizers)
        rules = try composite.checkedRuleMap(for: canonized.network)
    }

    /// The explanation with extras `positive` (the target pass, L1 mass 1
    /// per image) and `negative` (the all-other-classes pass); with
    /// `traces`, the positive pass's relevance at every module's input.
    public func explain(_ x: Tensor, targets: [Int]? = nil, traces: Bool) throws -> Explanation {
        try classifier.validateInput(x)
        let (logits, tape) = canonized.recordedForward(x)
        return explain(recorded: tape, logits: logits, targets: try resolveTargets(targets, logits: logits), traces: traces)
    }

    /// Both passes over a recorded forward of `canonized`, releasing its
    /// records as they go (the tape serves no pass after them).
    private func explain(recorded tape: Tape, logits: Tensor, targets t: [Int], traces: Bool) -> Explanation {
        let k = logits.shape[1]
        let positiveSeed = Tensor.oneHot(t, classes: k)
        let negativeSeed = positiveSeed.map { 1 - $0 }.normalizedSum()
        // the two passes only read the tape and the rules: one core each;
        // a record is dropped as soon as both are done with it
        tape.releaseRecords(afterPasses: 2)
        let (positive, negative) = concurrently(
            { canonized.backward(positiveSeed, tape: tape, rules: rules, traces: traces, releasingRecords: true) },
            { canonized.backward(negativeSeed, tape: tape, rules: rules, releasingRecords: true) })
        return Explanation(logits: logits, targets: t, relevance: (positive.input - negative.input).normalizedMax(),
                           extras: ["positive": positive.input, "negative": negative.input], traces: positive.traces)
    }

    public func explain(_ x: Tensor, targets: [Int]? = nil) throws -> Explanation {
        try explain(x, targets: targets, traces: false)
    }

    /// Without canonizers the passes run on `classifier` itself, so any
    /// recorded forward of it will do.
    public var explainsClassifierRecord: Bool { canonized === classifier }

    public func relevance(recorded tape: Tape, logits: Tensor, targets: [Int]) -> Tensor {
        precondition(explainsClassifierRecord, "\(name) runs on a canonized copy of the classifier, not on its record")
        return explain(recorded: tape, logits: logits, targets: targets, traces: false).relevance
    }

    /// The positive pass, traced.
    public func tracedPass(_ x: Tensor, targets: [Int]?) throws -> (pass: String, traces: [String: Tensor]) {
        ("absLRP", try explain(x, targets: targets, traces: true).traces)
    }
}

/// An explanation method: given a batch and the class to explain per image,
/// an `Explanation` whose relevance map has the input's shape, normalised to
/// max |value| 1 per image (as the reference's `RelevancyMethod.relevancy`
/// returns it), with the logits of the same forward pass.
public protocol RelevancyMethod: AnyObject {
    /// The name users type (`abslrp`, `gradient`, ...).
    var name: String { get }
    /// The model the method explains.
    var classifier: Classifier { get }
    /// The explanation of `x` (B, C, H, W) for `targets` (argmax of the
    /// logits when nil).
    func explain(_ x: Tensor, targets: [Int]?) throws -> Explanation

    /// The method's backward pass of `x` for `targets`, traced: the values at
    /// every module's input by module name, and the pass's name. Only asked
    /// for to find where relevance became non-finite
    /// (``requireFiniteRelevance(_:input:targets:)``); by default the target
    /// logit's gradient ("gradient"), absLRP's positive pass ("absLRP"), LRP's
    /// pass under its composite ("LRP").
    func tracedPass(_ x: Tensor, targets: [Int]?) throws -> (pass: String, traces: [String: Tensor])

    /// Why the method's map of `input` (1, C, H, W) is constant when its
    /// structure explains it (Grad-CAM on a 1x1 feature map), for
    /// ``LocalisationWarning``; nil by default.
    func constantMapReason(for input: Tensor) -> String?

    /// Starts the method's random stream afresh for `key`, for methods whose
    /// maps come from a stream that advances from call to call (``RandomRelevance``):
    /// the maps that follow then depend only on the seed and the key, not on
    /// the calls before (GAE restarts every method at each batch's number, so
    /// a batch gets the same maps in one run, in a shard and after a resume).
    /// Does nothing by default.
    func restartRandomness(at key: UInt64)
}

extension RelevancyMethod {
    public func tracedPass(_ x: Tensor, targets: [Int]?) throws -> (pass: String, traces: [String: Tensor]) {
        let batch = try recordBatch(x, targets: targets)
        return ("gradient", targetGradient(batch, traces: true).traces)
    }

    public func constantMapReason(for input: Tensor) -> String? { nil }

    public func restartRandomness(at key: UInt64) {}
}

extension RelevancyMethod {
    /// `explain(x, targets:).relevance`.
    public func relevance(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try explain(x, targets: targets).relevance
    }
}

extension RelevancyMethod {
    /// The classes to explain: `targets` checked against the model, or the
    /// argmax (only for models with a classifier head; the others need
    /// target features).
    func resolveTargets(_ targets: [Int]?, logits: Tensor) throws -> [Int] {
        guard let targets else {
            guard classifier.hasClassifierHead else {
                throw ClassifierInputError.noClassifierHead(model: classifier.configuration.name, features: classifier.numClasses)
            }
            return logits.argmaxRows()
        }
        guard targets.count == logits.shape[0] else {
            throw ClassifierInputError.targetCount(expected: logits.shape[0], actual: targets.count)
        }
        for t in targets where t < 0 || t >= logits.shape[1] {
            throw ClassifierInputError.targetOutOfRange(target: t, classes: logits.shape[1])
        }
        return targets
    }
}

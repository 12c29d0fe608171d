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

/// Saliency (`gradient`): the magnitude of the explained logit's gradient
/// (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks:
/// Visualising Image Classification Models and Saliency Maps"; Captum's
/// `Saliency(abs=True)`), per input value:
///
///     attribution(x) = |∂ f_t(x) / ∂ x|           (B, C, H, W)
///
/// One recorded forward and one gradient pass per batch; any architecture.
public final class Saliency: AttributionMethod {
    public let name = "gradient"
    public let classifier: Classifier

    public init(classifier: Classifier) { self.classifier = classifier }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let batch = try recordBatch(x, targets: targets)
        return Attribution(batch, targetGradient(batch).input.absolute)
    }
}

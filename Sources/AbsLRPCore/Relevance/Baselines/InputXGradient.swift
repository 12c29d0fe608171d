/// Input x gradient (Shrikumar et al. 2016, "Not Just a Black Box: Learning
/// Important Features Through Propagating Activation Differences"; Captum's
/// `InputXGradient`), per input value:
///
///     attribution(x) = x * ∂ f_t(x) / ∂ x          (B, C, H, W)
///
/// For a bias-free ReLU network this is LRP-0 (Ancona et al. 2018). One
/// recorded forward and one gradient pass per batch; any architecture.
public final class InputXGradient: AttributionMethod {
    public let name = "input-x-gradient"
    public let classifier: Classifier

    public init(classifier: Classifier) { self.classifier = classifier }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let batch = try recordBatch(x, targets: targets)
        return Attribution(batch, x * targetGradient(batch).input)
    }
}

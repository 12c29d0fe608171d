/// LRP-epsilon (Bach et al. 2015, "On Pixel-Wise Explanations for Non-Linear
/// Classifier Decisions by Layer-Wise Relevance Propagation"; Zennit's
/// `Epsilon` rule on every layer), from `R = onehot(t) * f(x)` at the logits:
/// each operation with inputs `x_i` and output `y` gives
///
///     R_i = x_i * J_i^T (R / (y + eps * sign(y)))        (sign(0) = 1)
///
/// the epsilon rule for Conv2d and Linear (`z_j = sum_i x_i w_ij + b_j`),
/// BatchNorm (the affine map of the running statistics), average pools and
/// residual additions (shares in proportion to the summands); ReLU, max pool,
/// dropout and identities pass relevance through where they pass the input.
/// With `eps -> 0` on a bias-free ReLU network the result is input x gradient.
public final class LRPEpsilon: AttributionMethod {
    public let name = "lrp-epsilon"
    public let classifier: Classifier
    /// The stabiliser `eps` (Zennit's default 1e-6 makes it practically LRP-0).
    public let epsilon: Float

    public init(classifier: Classifier, epsilon: Float) throws {
        guard epsilon >= 0, epsilon.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "epsilon", reason: "need a finite value >= 0, got \(epsilon)")
        }
        self.classifier = classifier
        self.epsilon = epsilon
    }

    public func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try layerwiseRelevance(x, targets: targets, mode: .lrpEpsilon(epsilon))
    }
}

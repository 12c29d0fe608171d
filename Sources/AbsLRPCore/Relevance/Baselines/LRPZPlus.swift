/// LRP-z+ (Montavon et al. 2017, "Explaining Nonlinear Classification
/// Decisions with Deep Taylor Decomposition"; Zennit's `ZPlus`, i.e.
/// alpha 1 beta 0 admitting negative inputs), from `R = onehot(t) * f(x)`:
///
/// - Conv2d and Linear keep the positive contributions only,
///
///       z_j = sum_i (x_i^+ w_ij^+ + x_i^- w_ij^-) + b_j^+
///       R_i = sum_j (x_i^+ w_ij^+ + x_i^- w_ij^-) R_j / (z_j + eps)
///
///   (see `Conv2d.zPlusRelevance`, `Linear.zPlusRelevance`);
/// - every other layer (BatchNorm, pools, activations, residual additions)
///   takes LRP-0: the epsilon rule with `eps = 1e-9`.
public final class LRPZPlus: AttributionMethod {
    public let name = "lrp-zplus"
    public let classifier: Classifier

    public init(classifier: Classifier) { self.classifier = classifier }

    public func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try layerwiseRelevance(x, targets: targets, mode: .lrpZPlus)
    }
}

/// A relevancy method defined by an unnormalised attribution map, reported
/// max-normalised as the reference's `RelevancyMethod.relevancy` returns maps:
///
///     relevance(x) = attribution(x) / (max |attribution(x)| + 1e-9)     per image
///
/// `attribution` is the quantity the method's paper defines (integrated
/// gradients' attributions sum to `f(x) - f(0)`, LRP's relevance to the
/// explained logit), so tests and sanity checks can compare it with its definition.
public protocol AttributionMethod: RelevancyMethod {
    /// The map before normalisation, (B, C, H, W) like `x` (B, C, H, W), for
    /// `targets` (each image's argmax class when nil).
    func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor
}

extension AttributionMethod {
    public func relevance(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try attribution(x, targets: targets).normalizedMax()
    }
}

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
    /// `targets` (each image's argmax class when nil), with the logits of the
    /// forward pass it came from.
    func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution
}

/// An unnormalised attribution map and the forward pass it explains.
public struct Attribution {
    /// (B, K) logits.
    public var logits: Tensor
    /// The explained class of each image.
    public var targets: [Int]
    /// (B, C, H, W), unnormalised.
    public var map: Tensor

    public init(logits: Tensor, targets: [Int], map: Tensor) {
        self.logits = logits; self.targets = targets; self.map = map
    }

    init(_ batch: RecordedBatch, _ map: Tensor) { self.init(logits: batch.logits, targets: batch.targets, map: map) }
}

extension AttributionMethod {
    /// `attribute(x, targets:).map`.
    public func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        try attribute(x, targets: targets).map
    }

    public func explain(_ x: Tensor, targets: [Int]?) throws -> Explanation {
        let a = try attribute(x, targets: targets)
        return Explanation(logits: a.logits, targets: a.targets, relevance: a.map.normalizedMax())
    }
}

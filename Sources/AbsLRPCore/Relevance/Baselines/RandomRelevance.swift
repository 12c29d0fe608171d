/// The `random` baseline: seeded uniform noise in [0, 1) of the input's
/// shape, independent of the model and the targets (which are only checked).
///
/// The generator (`SplitMix64(seed)`) is created with the method and advances
/// with every call, so successive maps are independent draws, and two methods
/// built with the same seed produce the same sequence of maps.
public final class RandomRelevance: AttributionMethod {
    public let name = "random"
    public let classifier: Classifier
    private var generator: SplitMix64

    public init(classifier: Classifier, seed: UInt64) {
        self.classifier = classifier
        generator = SplitMix64(seed: seed)
    }

    public func attribution(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        if targets != nil { _ = try explainedClasses(targets, for: x) } else { try classifier.validateInput(x) }
        return Tensor(shape: x.shape) { _ in generator.nextUniform() }
    }
}

/// The `random` baseline: seeded uniform noise in [0, 1) of the input's
/// shape, independent of the model and the targets (which are only checked).
///
/// The generator (`SplitMix64(seed)`) is created with the method and advances
/// with every call, so successive maps are independent draws, and two methods
/// built with the same seed produce the same sequence of maps.
/// ``restartRandomness(at:)`` starts another stream of the same seed.
public final class RandomRelevance: AttributionMethod {
    public let name = "random"
    public let classifier: Classifier
    public let seed: UInt64
    private var generator: SplitMix64

    public init(classifier: Classifier, seed: UInt64) {
        self.classifier = classifier
        self.seed = seed
        generator = SplitMix64(seed: seed)
    }

    /// `SplitMix64(seed: SplitMix64(seed: seed &+ key).next())`.
    public func restartRandomness(at key: UInt64) {
        var mixer = SplitMix64(seed: seed &+ key)
        generator = SplitMix64(seed: mixer.next())
    }

    /// The map needs no model: the one forward (inference only, nothing
    /// recorded) gives the logits and the explained classes.
    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        try classifier.validateInput(x)
        let logits = classifier.logits(x)
        let t = try resolveTargets(targets, logits: logits)
        return Attribution(logits: logits, targets: t, map: Tensor(shape: x.shape) { _ in generator.nextUniform() })
    }
}

/// A change of a model's parameters that keeps its function but lets LRP
/// rules see it in a canonical form (Zennit's `Canonizer`), such as
/// `SequentialBatchNormMerge`. Applied to a copy (`Classifier.canonized(by:)`),
/// so the model itself is never changed.
public protocol Canonizer: Sendable {
    /// Rewrites the parameters of `network` in place.
    func apply(to network: Module)
}

extension Classifier {
    /// A copy of this classifier (same configuration, copied parameters).
    public func copy() -> Classifier {
        let twin = Classifier(configuration: configuration)
        for (source, target) in zip(network.allModules, twin.network.allModules) {
            precondition(source.name == target.name, "copy: module trees differ at \(source.name)")
            for (local, _) in source.stateShapes {
                if local == "bias", let affine = target as? AffineLayer { affine.addZeroBias() }  // a merged copy's copy
                target.setParameter(local, source.parameter(local))
            }
        }
        return twin
    }

    /// A copy with `canonizers` applied in order (self when there are none).
    public func canonized(by canonizers: [any Canonizer]) -> Classifier {
        guard !canonizers.isEmpty else { return self }
        let twin = copy()
        for canonizer in canonizers { canonizer.apply(to: twin.network) }
        return twin
    }
}

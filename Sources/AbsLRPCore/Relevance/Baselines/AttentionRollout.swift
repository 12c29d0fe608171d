/// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in
/// Transformers"), as in Chefer et al.'s reference code: per block `l`, the
/// head-averaged attention with the residual connection added, rows
/// renormalised, multiplied through the blocks from the first:
///
///     Â_l = (mean_h A_l + I) / rowsum(mean_h A_l + I)      (B, T, T)
///     R   = Â_L · ... · Â_2 · Â_1
///     attribution = R[:, 0, 1:] (the class token's attention to the patches)
///                   as the patch grid, upsampled bilinearly (align_corners=False)
///                   to the image and repeated over channels
///
/// `A_l` are the softmax outputs on the tape of one forward. The map does not
/// depend on the explained class (targets are only checked). ViT only.
public final class AttentionRollout: AttributionMethod {
    public let name = "attention-rollout"
    public let classifier: Classifier
    private let attention: AttentionMaps

    public init(classifier: Classifier) throws {
        attention = try AttentionMaps(classifier, method: name)
        self.classifier = classifier
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let batch = try recordBatch(x, targets: targets)
        var rollout: Tensor?
        for a in attention.weights(batch.tape) {
            let mean = AttentionMaps.meanOverHeads(a)
            var layer = mean + AttentionMaps.identities(batch: mean.shape[0], tokens: mean.shape[1])
            layer = Self.rowNormalized(layer)
            rollout = rollout.map { batchedMatrixProduct(layer, $0) } ?? layer
        }
        return Attribution(batch, attention.classTokenMap(rollout!, inputShape: x.shape))
    }

    /// Each row of each (T, T) matrix divided by its sum.
    private static func rowNormalized(_ m: Tensor) -> Tensor {
        let n = m.shape[m.rank - 1]
        var out = m
        for row in 0..<(m.count / n) {
            let range = (row * n)..<((row + 1) * n)
            let sum = out.storage[range].reduce(0, +)
            for j in range { out.storage[j] /= sum }
        }
        return out
    }
}

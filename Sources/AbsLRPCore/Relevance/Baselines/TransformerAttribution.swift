/// Transformer attribution (Chefer, Gur & Wolf 2021, "Transformer
/// Interpretability Beyond Attention Visualization"), in the simplified form
/// of their follow-up ("Generic Attention-model Explainability for
/// Interpreting Bi-Modal and Encoder-Decoder Transformers", 2021, eq. 5-6)
/// that most ports use: the attention's relevance `R_A` of the original is
/// replaced by the attention itself, so per block `l`
///
///     Ā_l = mean_h (∂ f_t / ∂ A_l ⊙ A_l)^+              (B, T, T)
///     R   = I;  for l = 1..L:  R = R + Ā_l · R
///     attribution = R[:, 0, 1:] (the class token's row over the patches)
///                   as the patch grid, upsampled bilinearly (align_corners=False)
///                   to the image and repeated over channels
///
/// `A_l` are the softmax outputs of one recorded forward and `∂ f_t / ∂ A_l`
/// the gradient of the explained logit at them (one gradient pass). ViT only.
public final class TransformerAttribution: AttributionMethod {
    public let name = "transformer-attribution"
    public let classifier: Classifier
    private let attention: AttentionMaps

    public init(classifier: Classifier) throws {
        attention = try AttentionMaps(classifier, method: name)
        self.classifier = classifier
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let batch = try recordBatch(x, targets: targets)
        let gradients = attention.gradients(targetGradient(batch, traces: true).traces)
        let tokens = attention.gridSize * attention.gridSize + 1
        var r = AttentionMaps.identities(batch: x.shape[0], tokens: tokens)
        for (a, g) in zip(attention.weights(batch.tape), gradients) {
            let weighted = AttentionMaps.meanOverHeads((g * a).map { max($0, 0) })
            r = r + batchedMatrixProduct(weighted, r)
        }
        return Attribution(batch, attention.classTokenMap(r, inputShape: x.shape))
    }
}

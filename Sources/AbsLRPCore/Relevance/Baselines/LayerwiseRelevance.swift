extension RelevancyMethod {
    /// Layer-wise relevance propagation with a standard rule (`mode`
    /// `.lrpEpsilon` or `.lrpZPlus`) from the explained logit: the output
    /// relevance is `onehot(t) * f(x)` (B, K) (Captum's convention: a
    /// conservative pass distributes `f_t(x)` over the input), and every layer
    /// applies its rule for `mode` over one recorded forward. Returns the
    /// relevance at the input (B, C, H, W), unnormalised.
    ///
    /// In Vision Transformers this is CP-LRP (Ali et al. 2022): the attention
    /// weights are constants, so relevance flows through the values only
    /// (`Tape.holdAttentionConstant`); LayerNorm's mean and variance are
    /// constants too (its `detachedVJP`), so LayerNorm is the affine map
    /// `y = gamma r x + (beta - gamma r mu)` under the same rule, and GELU gets
    /// the rule's `x gelu'(x) / gelu(x)` share (as CP-LRP's gradient x input
    /// on the detached model). The position embedding's share is dropped.
    func layerwiseRelevance(_ x: Tensor, targets: [Int]?, mode: BackwardMode) throws -> Tensor {
        let batch = try recordBatch(x, targets: targets)
        if case .visionTransformer = classifier.configuration.architecture {
            batch.tape.holdAttentionConstant(in: classifier.network)
        }
        return classifier.backward(batch.targetLogitSeed, tape: batch.tape, mode: mode).input
    }
}

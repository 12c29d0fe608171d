extension Tape {
    /// Treats every attention softmax of `network` as a constant for the LRP
    /// rules, as CP-LRP does (Ali et al. 2022, "XAI for Transformers: Better
    /// Explanations through Conservative Propagation"): relevance reaches the
    /// tokens through the values `v` of `A @ v` only, none through `q k^T`.
    ///
    /// Each softmax's recorded input (the attention logits) is replaced by
    /// zeros. The LRP rules give an input `x` the relevance
    /// `x * J^T (R / (y ± eps))`, so the logits, and q and k behind them, get
    /// none; the attention weights `A` (the softmax outputs, and the first
    /// input of `A @ v`) stay as recorded, so `A @ v` still shares its
    /// relevance over `v` as `R_v = v * A^T (R / (y ± eps))`. Gradient passes
    /// over the tape are unaffected (the softmax VJP reads only its output);
    /// absLRP passes are not (its twin reads the logits), so only LRP methods
    /// call this, on a tape of their own.
    func holdAttentionConstant(in network: Module) {
        for softmax in network.allModules.compactMap({ $0 as? Softmax }) where has(softmax) {
            var record = record(for: softmax)
            record.inputs = record.inputs.map { Tensor(shape: $0.shape) }
            save(softmax, record)
        }
    }
}

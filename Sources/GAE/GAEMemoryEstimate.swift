import AbsLRPCore

extension GAEConfiguration {
    /// An upper estimate of the bytes a GAE run with these settings needs on
    /// `model`, before anything is built (for job schedulers'
    /// memory requests; `abslrp evaluate --estimate-memory`).
    ///
    /// With `B` the batch size, `M = B / 4` mosaics, `S` steps and `P = C·H·W`
    /// values per image:
    ///
    ///     bytes = model(B) + 4 · P · (B + M + 2 · S · M)
    ///
    /// where `model(B)` is the model family's ``MemoryEstimate`` for a batch of
    /// `B` images (weights, their derived copies, the activations one
    /// recording keeps; the largest pass is the batch's forward, the largest
    /// recorded ones the `2M = B / 2` masked inputs of a step, recorded as
    /// two batches of `M` at once, one per order), and the second
    /// term the images held at once: the batch, its mosaics and both orders'
    /// masked inputs of every step (``StepwiseMasking``).
    public func estimatedBytes(model: ModelConfiguration) -> Int {
        let (c, h, w) = (model.inputSize[0], model.inputSize[1], model.inputSize[2])
        let mosaics = batchSize / 4
        let images = Saturating.sum([batchSize, mosaics, Saturating.product([2, steps, mosaics])])
        let imageBytes = Saturating.product([4, c, h, w, images])
        return Saturating.add(model.architecture.memoryEstimate(height: h, width: w).bytes(batch: batchSize), imageBytes)
    }
}

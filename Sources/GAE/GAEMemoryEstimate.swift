import AbsLRPCore

extension GAEConfiguration {
    /// An upper estimate of the bytes a GAE run with these settings needs on
    /// `model` with `methods` methods, keeping the pictures of the `k` best
    /// and worst positives per method (`--top`), before anything is built
    /// (for job schedulers' memory requests; `abslrp evaluate --estimate-memory`).
    ///
    /// With `B` the batch size, `M = B / 4` mosaics, `S` steps and `P = C·H·W`
    /// values per image:
    ///
    ///     bytes = model(B) + 4 · P · (B + M + 2 · S · M)
    ///           + 7 · H · W · methods · 2k + 34 · H · W · methods · min(2k, M)
    ///
    /// where `model(B)` is the model family's ``MemoryEstimate`` for a batch of
    /// `B` images (weights, their derived copies, the activations one
    /// recording keeps, the scratchpads of the oneDNN calls that may run at
    /// once: ``MemoryEstimate/concurrentCalls``; the largest pass is the batch's forward, the largest
    /// recorded ones the `2M = B / 2` masked inputs of a step, recorded as
    /// two batches of `M` at once, one per order), and the second
    /// term the images held at once: the batch, its mosaics and both orders'
    /// masked inputs of every step (``StepwiseMasking``). The last two are the
    /// pictures (``ExtremeMaps/Picture``: an RGB byte and a float of
    /// relevance per pixel, 7 bytes): the kept ones, `2k` per method, and one
    /// batch's journal record of them (``GAEJournal``: at most `min(2k, M)`
    /// per method), held when it is written or read back as pictures, their
    /// bytes copied for encoding and their base64 text twice (the encoder's
    /// and the line's), 7 + 7 + 2 · 10 bytes a pixel. The journal's entries
    /// hold no pictures in memory, and it is read in blocks, one record at a time,
    /// so its size (which grows with the run) does not count.
    public func estimatedBytes(model: ModelConfiguration, methods: Int, keptExtremes k: Int) -> Int {
        let (c, h, w) = (model.inputSize[0], model.inputSize[1], model.inputSize[2])
        let mosaics = batchSize / 4
        let images = Saturating.sum([batchSize, mosaics, Saturating.product([2, steps, mosaics])])
        let imageBytes = Saturating.product([4, c, h, w, images])
        let kept = Saturating.product([2, max(k, 0)]), recorded = min(kept, mosaics)
        let pictureBytes = Saturating.sum([Saturating.product([7, h, w, methods, kept]),
                                           Saturating.product([34, h, w, methods, recorded])])
        return Saturating.sum([model.architecture.memoryEstimate(height: h, width: w).bytes(batch: batchSize), imageBytes,
                               pictureBytes])
    }
}

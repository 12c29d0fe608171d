extension Classifier {
    /// Gradients of chosen logits at `copies` derived versions of every image
    /// of a batch (noisy copies for SmoothGrad, scaled copies for integrated
    /// gradients), run through the model `chunkSize` rows at a time: one
    /// recorded forward and one gradient pass per chunk, whatever the batch.
    ///
    /// Row `j` of the virtual batch of `copies * B` rows is copy `c = j / B` of
    /// image `b = j % B`:
    ///
    ///     input_j    = derive(c, b, x_b)                    (C*H*W values)
    ///     gradient_j = ∂ logits[t_b] / ∂ input_j  ->  use(c, b, gradient_j)
    ///
    /// Rows are derived and used in order of `j`, so a seeded `derive` gives
    /// the same copies for any chunk size.
    ///
    /// - Parameters:
    ///   - x: (B, C, H, W); `targets`: B classes.
    ///   - derive: copy `c` of image `b` from image `b`'s values.
    ///   - use: receives each row's gradient.
    func derivedInputGradients(of x: Tensor, targets: [Int], copies: Int, chunkSize: Int,
                               derive: (_ copy: Int, _ image: Int, _ values: ArraySlice<Float>) -> [Float],
                               use: (_ copy: Int, _ image: Int, _ gradient: ArraySlice<Float>) -> Void) {
        precondition(copies > 0 && chunkSize > 0 && targets.count == x.shape[0])
        let b = x.shape[0], n = x.sampleCount, total = copies * b
        for start in stride(from: 0, to: total, by: chunkSize) {
            let rows = start..<min(start + chunkSize, total)
            var values = [Float]()
            values.reserveCapacity(rows.count * n)
            for j in rows { values += derive(j / b, j % b, x.storage[(j % b * n)..<((j % b + 1) * n)]) }
            let chunk = Tensor(shape: [rows.count] + x.shape.dropFirst(), storage: values)
            let gradient = inputGradient(chunk, targets: rows.map { targets[$0 % b] }).gradient
            for (i, j) in rows.enumerated() { use(j / b, j % b, gradient.storage[(i * n)..<((i + 1) * n)]) }
        }
    }
}

extension RelevancyMethod {
    /// Gradients of the explained logits at `copies` versions of every image
    /// of a batch, the first of them the image itself (copy 0; the others
    /// noisy copies for SmoothGrad, scaled copies for integrated gradients),
    /// run through the model in chunks of rows: one recorded forward and one
    /// gradient pass per chunk, whatever the batch.
    ///
    /// Row `j` of the virtual batch of `copies * B` rows is copy `c = j / B` of
    /// image `b = j % B`:
    ///
    ///     input_j    = x_b for c = 0, derive(c, b, x_b) otherwise   (C*H*W values)
    ///     gradient_j = ∂ logits[t_b] / ∂ input_j  ->  use(c, b, gradient_j)
    ///
    /// The first chunk holds rows `0 ..< max(chunkSize, B)`, so its recorded
    /// forward gives the logits of the images themselves: the explanation's
    /// logits and, when `targets` is nil, the explained classes (their argmax),
    /// from the same forward as the first gradients. Later chunks hold
    /// `chunkSize` rows. Rows are derived and used in order of `j`, so a seeded
    /// `derive` gives the same copies for any chunk size.
    ///
    /// - Parameters:
    ///   - x: (B, C, H, W); `targets`: B classes, or nil for the argmax.
    ///   - derive: copy `c >= 1` of image `b` from image `b`'s values.
    ///   - use: receives each row's gradient (copy 0's too).
    /// - Returns: the (B, K) logits of `x` and the explained classes.
    func derivedInputGradients(of x: Tensor, targets: [Int]?, copies: Int, chunkSize: Int,
                               derive: (_ copy: Int, _ image: Int, _ values: ArraySlice<Float>) -> [Float],
                               use: (_ copy: Int, _ image: Int, _ gradient: ArraySlice<Float>) -> Void)
        throws -> (logits: Tensor, targets: [Int]) {
        precondition(copies > 0 && chunkSize > 0)
        try classifier.validateInput(x)
        let b = x.shape[0], n = x.sampleCount, total = copies * b
        var logits = Tensor(shape: [0]), explained: [Int] = []
        var start = 0
        while start < total {
            let rows = start..<min(start + (start == 0 ? max(chunkSize, b) : chunkSize), total)
            var values = [Float]()
            values.reserveCapacity(rows.count * n)
            for j in rows {
                let image = x.storage[(j % b * n)..<((j % b + 1) * n)]
                values += j < b ? Array(image) : derive(j / b, j % b, image)
            }
            let chunk = Tensor(shape: [rows.count] + x.shape.dropFirst(), storage: values)
            let (chunkLogits, tape) = classifier.recordedForward(chunk)
            if start == 0 {
                logits = chunkLogits.batchSlice(0..<b)
                explained = try resolveTargets(targets, logits: logits)
            }
            let seed = Tensor.oneHot(rows.map { explained[$0 % b] }, classes: chunkLogits.shape[1])
            let gradient = classifier.backward(seed, tape: tape, rules: .gradient).input
            for (i, j) in rows.enumerated() { use(j / b, j % b, gradient.storage[(i * n)..<((i + 1) * n)]) }
            start = rows.upperBound
        }
        return (logits, explained)
    }
}

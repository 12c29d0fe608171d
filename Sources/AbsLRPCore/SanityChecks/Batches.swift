extension Classifier {
    /// Logits (N, K) of a set of images (N, C, H, W), `batchSize` at a time.
    func logits(_ x: Tensor, batchSize: Int) -> Tensor {
        Tensor.concatenateBatch(stride(from: 0, to: x.shape[0], by: batchSize).map { start in
            logits(x.batchSlice(start..<min(start + batchSize, x.shape[0])))
        })
    }
}

extension RelevancyMethod {
    /// Relevance (N, C, H, W) of a set of images for `targets` (N classes),
    /// `batchSize` images per call.
    func relevance(_ x: Tensor, targets: [Int], batchSize: Int) throws -> Tensor {
        Tensor.concatenateBatch(try stride(from: 0, to: x.shape[0], by: batchSize).map { start in
            let range = start..<min(start + batchSize, x.shape[0])
            return try relevance(x.batchSlice(range), targets: Array(targets[range]))
        })
    }
}

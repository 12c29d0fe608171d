/// A layer whose cost is matrix products, and the shapes of those products
/// in one recorded forward: `(m, n, k)` per GEMM, `m x k` times `k x n`.
public protocol MatrixProductLayer: Module {
    func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)]
}

extension Conv2d: MatrixProductLayer {
    /// One `[O, C*kh*kw] x [C*kh*kw, OH*OW]` product per image.
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        let y = record.output
        return Array(repeating: (outChannels, y.shape[2] * y.shape[3], inChannels * kernelSize * kernelSize), count: y.shape[0])
    }
}

extension Linear: MatrixProductLayer {
    /// One `[rows, in] x [in, out]` product.
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        [(record.inputs[0].count / inFeatures, outFeatures, inFeatures)]
    }
}

extension Classifier {
    /// The GEMM shapes of one forward over `tape` (recorded on this classifier).
    public func forwardProducts(_ tape: Tape) -> [(m: Int, n: Int, k: Int)] {
        network.allModules.compactMap { $0 as? MatrixProductLayer }.filter { tape.has($0) }
            .flatMap { $0.forwardProducts(tape.record(for: $0)) }
    }
}

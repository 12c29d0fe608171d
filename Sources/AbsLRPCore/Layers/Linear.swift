/// Fully connected layer (`nn.Linear`) over the last axis.
///
/// - input `x`: (..., in); output `y`: (..., out)
/// - `weight`: (out, in); `bias`: (out)
///
///     y = x · W^T + b
///
/// Backward products are `g · M` with `M` one of `W`, `|W|`, `W + |W|`
/// (`WeightMatrix`; the rules are `AffineLayer`'s).
public final class Linear: AffineLayer {
    public let inFeatures, outFeatures: Int

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        super.init(name: name)
        registerState("weight", shape: [outFeatures, inFeatures])
        if bias { registerState("bias", shape: [outFeatures]) }
    }

    /// `x · W^T + b`: the rows of `x` (every index but the last axis) in
    /// `forEachBatchPart`'s parts, one per core, each part's rows one
    /// oneDNN matmul on its own core (`MatmulPrimitive`: the weights read in
    /// place, the bias added inside the product; 5% less CPU time than
    /// OpenBLAS's sgemm in parts on ViT-B's shapes on an AMD EPYC, the same
    /// on an Intel Xeon, 9% less than OpenBLAS on all cores there:
    /// docs/benchmarks.md, sessions 6 and 8).
    /// A single row (a classifier head at batch 1), or a shape oneDNN has no
    /// fast matmul for, is an sgemm into rows pre-filled with the bias
    /// (`beta = 1`; OpenBLAS threaded for the single row, so no OpenMP
    /// workers spin between products). The parts depend only on the number
    /// of rows, so every forward (inference or recorded) computes the same values.
    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "\(name): input \(x.shape), expected last axis \(inFeatures)")
        let rows = x.count / inFeatures, (inFeatures, outFeatures, hasBias) = (self.inFeatures, self.outFeatures, self.hasBias)
        let weight = parameter("weight"), bias = hasBias ? parameter("bias").storage : []
        return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures]) { ys in
            x.storage.withUnsafeBufferPointer { xs in
                weight.storage.withUnsafeBufferPointer { ws in
                    bias.withUnsafeBufferPointer { b in
                        forEachBatchPart(rows) { part in
                            let (x, y, count) = (xs.baseAddress! + part.lowerBound * inFeatures, ys + part.lowerBound * outFeatures, part.count)
                            if DNNLEngine.threadsForCaller == 1, let product = MatmulPrimitive.cached(
                                .init(rows: count, inFeatures: inFeatures, outFeatures: outFeatures, hasBias: hasBias)) {
                                return product.run(x, weight: ws.baseAddress!, bias: b.baseAddress, into: y)
                            }
                            if hasBias {
                                for r in 0..<count { (y + r * outFeatures).update(from: b.baseAddress!, count: outFeatures) }
                            }
                            sgemm(transposeB: true, m: count, n: outFeatures, k: inFeatures,
                                  a: x, b: ws.baseAddress!, beta: hasBias ? 1 : 0, c: y)
                        }
                    }
                }
            }
        }
    }

    /// `x · M^T` (rows, out), accumulated over blocks of output features.
    override func forwardProduct(_ x: Tensor, _ matrix: WeightMatrix) -> Tensor {
        let rows = x.count / inFeatures, (inFeatures, outFeatures) = (self.inFeatures, self.outFeatures)
        var y = Tensor(shape: Array(x.shape.dropLast()) + [outFeatures])
        x.storage.withUnsafeBufferPointer { xs in
            y.storage.withUnsafeMutableBufferPointer { ys in
                weightMatrices.forEachBlock(matrix, of: parameter("weight"), rows: outFeatures) { block, m, _ in
                    sgemm(transposeB: true, m: rows, n: block.count, k: inFeatures, a: xs.baseAddress!, b: m,
                          c: ys.baseAddress! + block.lowerBound, ldc: outFeatures)
                }
            }
        }
        return y
    }

    override func addingBias(_ y: Tensor, _ b: [Float]) -> Tensor {
        var out = y
        out.storage.withUnsafeMutableBufferPointer { os in
            for i in os.indices { os[i] += b[i % outFeatures] }
        }
        return out
    }

    /// Values per block of a derived matrix in `backwardProducts` (1M, 4 MB):
    /// the blocks are the products' inner dimension, so ViT-B's largest
    /// matrices (fc1, fc2: 2.4M values) take three GEMMs of K >= 256 each
    /// instead of one, and each of the two concurrent relevance passes holds
    /// 4 MB of `|W|` instead of 9.4 MB at their start, where the tape is whole.
    static let backwardBlockValues = 1 << 20

    /// `g · M` (rows, in) for each `M` in `matrices`.
    override func backwardProducts(_ g: Tensor, inputShape: [Int], matrices: [WeightMatrix]) -> [Tensor] {
        let (rows, inFeatures, outFeatures) = (g.count / self.outFeatures, self.inFeatures, self.outFeatures)
        let weight = parameter("weight")
        guard outFeatures > 0 else { return matrices.map { _ in Tensor(shape: inputShape) } }  // no product: zeros
        return matrices.map { matrix in
            // the first block's product (beta 0) writes every value: no zeroing pass first
            Tensor(shape: inputShape) { c in
                g.storage.withUnsafeBufferPointer { gs in
                    // out[rows, in] = g[rows, out] · M[out, in], accumulated over blocks of `out`
                    let product = { (block: Range<Int>, m: UnsafePointer<Float>, first: Bool) in
                        sgemm(m: rows, n: inFeatures, k: block.count, a: gs.baseAddress! + block.lowerBound,
                              lda: outFeatures, b: m, beta: first ? 0 : 1, c: c)
                    }
                    weightMatrices.forEachBlock(matrix, of: weight, rows: outFeatures, blockValues: Self.backwardBlockValues, product)
                }
            }
        }
    }
}

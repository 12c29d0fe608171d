/// 2-D convolution (`nn.Conv2d`, groups 1), computed as im2col + sgemm.
///
/// - input `x`: (B, C, H, W); output `y`: (B, O, OH, OW)
/// - `weight`: (O, C, kh, kw), read as the `[O, C*kh*kw]` matrix; `bias`: (O)
///
///     y_b = W · im2col(x_b) + b
///
/// Backward products are `col2im(M^T · g_b)` with `M` one of `W`, `|W|`,
/// `W + |W|` (`WeightMatrix`; the rules are `AffineLayer`'s).
public final class Conv2d: AffineLayer {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public let hasBias: Bool

    public init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        self.hasBias = bias
        super.init(name: name)
        registerState("weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        if bias { registerState("bias", shape: [outChannels]) }
    }

    private var patchSize: Int { inChannels * kernelSize * kernelSize }

    /// The geometry of this convolution on an input of spatial size H x W.
    public func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(channels: inChannels, height: height, width: width,
                     kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
    }

    /// A 1x1, stride-1, unpadded convolution reads its input as the column matrix directly.
    private var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    /// Floats one column matrix may hold (16 MB). Images are multiplied in
    /// groups that fit: early layers (large OH*OW) one image per GEMM, late
    /// layers (7x7, 14x14) the whole batch in one wide GEMM, where thin
    /// per-image products would waste most of the machine.
    static let columnBudget = 4 << 20

    private func groupSize(batch: Int, pixels: Int) -> Int {
        max(1, min(batch, Self.columnBudget / max(1, patchSize * pixels)))
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "\(name): input \(x.shape), expected (B, \(inChannels), H, W)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let geo = geometry(height: h, width: w)
        let l = geo.outputPixels, p = patchSize, imageSize = inChannels * h * w
        precondition(geo.outputHeight > 0 && geo.outputWidth > 0,
                     "\(name): input \(h)x\(w) smaller than the \(kernelSize)x\(kernelSize) kernel")
        let group = groupSize(batch: b, pixels: l)
        let columns = Scratch(count: (isPointwise && group == 1) ? 0 : p * group * l)
        let product = Scratch(count: group == 1 ? 0 : outChannels * group * l)
        defer { columns.free(); product.free() }
        let weight = parameter("weight")
        let bias = hasBias ? parameter("bias").storage : nil
        return x.storage.withUnsafeBufferPointer { xs in
            weight.storage.withUnsafeBufferPointer { ws in
                Tensor(shape: [b, outChannels, geo.outputHeight, geo.outputWidth]) { ys in
                    for first in Swift.stride(from: 0, to: b, by: group) {
                        let n = min(group, b - first), ld = n * l
                        // columns [p, n*l]: image j's columns at offset j*l
                        let cols: UnsafePointer<Float>
                        if isPointwise && group == 1 {
                            cols = xs.baseAddress! + first * imageSize
                        } else {
                            for j in 0..<n {
                                let image = xs.baseAddress! + (first + j) * imageSize
                                if isPointwise {
                                    for c in 0..<p { (columns.base + c * ld + j * l).update(from: image + c * l, count: l) }
                                } else {
                                    im2col(image, geo, columns.base + j * l, ldc: ld)
                                }
                            }
                            cols = UnsafePointer(columns.base)
                        }
                        let out = group == 1 ? ys + first * outChannels * l : product.base
                        sgemm(m: outChannels, n: ld, k: p, a: ws.baseAddress!, b: cols, c: out)
                        for j in 0..<n {
                            let image = ys + (first + j) * outChannels * l
                            for o in 0..<outChannels {
                                let plane = image + o * l
                                if group > 1 { plane.update(from: out + o * ld + j * l, count: l) }
                                if let bias { for k in 0..<l { plane[k] += bias[o] } }
                            }
                        }
                    }
                }
            }
        }
    }

    override func emptyTwin() -> AffineLayer {
        Conv2d(name: name, inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
               stride: stride, padding: padding, bias: hasBias)
    }

    /// `col2im(M^T · g)` for each `M` in `matrices`, images grouped as in the forward.
    override func backwardProducts(_ g: Tensor, inputShape: [Int], matrices: [WeightMatrix]) -> [Tensor] {
        var outputs: [Tensor] = []
        for matrix in matrices {
            outputs.append(backwardProduct(g, inputShape: inputShape, matrix: matrix) { _, _ in })
        }
        return outputs
    }

    /// absLRP with a nonnegative input in one product: `x * col2im((W + |W|)^T S)`,
    /// the multiplication by `x` done image by image while the image is in cache.
    override func rectifiedContribution(_ s: Tensor, _ x: Tensor) -> Tensor {
        x.storage.withUnsafeBufferPointer { xs in
            let imageSize = x.sampleCount
            return backwardProduct(s, inputShape: x.shape, matrix: .rectifiedSum) { index, image in
                let xp = xs.baseAddress! + index * imageSize
                parallelChunks(imageSize) { range in
                    for k in range { image[k] *= xp[k] }
                }
            }
        }
    }

    /// `col2im(M^T · g)`, images grouped as in the forward; `finish(b, image)`
    /// is called on each image of the result once it is complete.
    private func backwardProduct(_ g: Tensor, inputShape: [Int], matrix: WeightMatrix,
                                 finish: (Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let (b, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let geo = geometry(height: h, width: w)
        let l = geo.outputPixels, p = patchSize, imageSize = inChannels * h * w
        let group = groupSize(batch: b, pixels: l)
        let weight = parameter("weight")
        let columns = Scratch(count: (isPointwise && group == 1) ? 0 : p * group * l)
        let gathered = Scratch(count: group == 1 ? 0 : outChannels * group * l)
        defer { columns.free(); gathered.free() }
        // col2im accumulates, so its images start at zero; the other paths write every value
        var output = isPointwise ? Tensor(shape: inputShape, filling: { _ in }) : Tensor(shape: inputShape)
        g.storage.withUnsafeBufferPointer { gs in
            output.storage.withUnsafeMutableBufferPointer { os in
                for first in Swift.stride(from: 0, to: b, by: group) {
                    let n = min(group, b - first), ld = n * l
                    // g of the group as one [O, n*l] matrix
                    let rhs: UnsafePointer<Float>
                    if group == 1 {
                        rhs = gs.baseAddress! + first * outChannels * l
                    } else {
                        for j in 0..<n {
                            let src = gs.baseAddress! + (first + j) * outChannels * l
                            for o in 0..<outChannels { (gathered.base + o * ld + j * l).update(from: src + o * l, count: l) }
                        }
                        rhs = UnsafePointer(gathered.base)
                    }
                    let base = os.baseAddress! + first * imageSize
                    // pointwise, one image: the column matrix is the input gradient itself
                    let target = (isPointwise && group == 1) ? base : columns.base
                    // target[p, ld] = M[O, p]^T · rhs[O, ld], accumulated over blocks of O
                    weightMatrices.forEachBlock(matrix, of: weight, rows: outChannels) { rows, m, isFirst in
                        sgemm(transposeA: true, m: p, n: ld, k: rows.count, a: m, b: rhs + rows.lowerBound * ld,
                              beta: isFirst ? 0 : 1, c: target)
                    }
                    for j in 0..<n {
                        let image = base + j * imageSize
                        if isPointwise && group > 1 {
                            for c in 0..<p { (image + c * l).update(from: columns.base + c * ld + j * l, count: l) }
                        } else if !isPointwise {
                            col2im(UnsafePointer(columns.base + j * l), geo, image, ldc: ld)
                        }
                        finish(first + j, image)
                    }
                }
            }
        }
        return output
    }
}

/// 2-D convolution (`nn.Conv2d`, any `groups`), computed as im2col + sgemm,
/// its 1x1 and 3x3 backward products on oneDNN (`convolutionCalls`).
///
/// - input `x`: (B, C, H, W); output `y`: (B, O, OH, OW),
///   `OH = floor((H + 2p - d*(k - 1) - 1) / s) + 1` (likewise `OW`), `d` the dilation
/// - `weight`: (O, C/G, kh, kw), read as the `[O, (C/G)*kh*kw]` matrix; `bias`: (O)
///
///     y_b = W · im2col(x_b) + b                                  (G = 1)
///     y_b[group g] = W[group g] · im2col(x_b)[group g] + b       (G groups)
///
/// With `G` groups (timm's `cardinality`, ResNeXt), output channels
/// `g*O/G ..< (g+1)*O/G` read only input channels `g*C/G ..< (g+1)*C/G`:
/// the column matrix of the whole image is unfolded once, and its rows
/// `g*(C/G)*kh*kw ..< (g+1)*(C/G)*kh*kw` (group g's channels, as `im2col`
/// orders rows by channel) are multiplied by group g's rows of `W`, one GEMM
/// per group (`forEachGroupBlock`). Backward products `M^T g_b`, with `M`
/// one of `W`, `|W|`, `W + |W|` (`WeightMatrix`; the rules are
/// `AffineLayer`'s), are at stride 1 a convolution of `g_b` with `M`'s
/// kernel flipped and transposed in its channels (`transposedConvolution`:
/// im2col of `g_b` and one GEMM of inner extent `(O/G)*kh*kw` per group,
/// no col2im), and otherwise `col2im(M^T · g_b)`, group by group in the same way.
public final class Conv2d: AffineLayer {
    public let inChannels, outChannels, kernelSize, stride, padding, dilation, groups: Int

    public init(name: String, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "\(name): \(inChannels) input and \(outChannels) output channels in \(groups) groups")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding; self.dilation = dilation
        self.groups = groups
        super.init(name: name)
        registerState("weight", shape: [outChannels, inChannels / groups, kernelSize, kernelSize])
        if bias { registerState("bias", shape: [outChannels]) }
    }

    /// Rows of the column matrix of one image: `C * kh * kw`.
    private var patchSize: Int { inChannels * kernelSize * kernelSize }
    /// Rows of one group's part of the column matrix, the inner extent of its GEMM: `(C/G) * kh * kw`.
    private var groupPatchSize: Int { patchSize / groups }

    /// The geometry of this convolution on an input of spatial size H x W.
    public func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(channels: inChannels, height: height, width: width,
                     kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding,
                     dilation: dilation)
    }

    /// A 1x1, stride-1, unpadded convolution reads its input as the column matrix directly.
    private var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    /// Floats one column matrix may hold (4 MB, the size of the L2 caches;
    /// tests lower it to exercise every cut on small shapes).
    nonisolated(unsafe) static var columnBudget = 1 << 20

    /// How the products of one call are cut so that the column matrix stays
    /// within `columnBudget`: late layers (7x7, 14x14) put `images` images
    /// side by side in one wide GEMM, where thin per-image products would
    /// waste the machine; early layers (112x112, 224x224) take one image in
    /// slabs of `rows` output rows, each unfolded, multiplied and folded back
    /// while it is in cache. (Derived matrices too large to cache,
    /// `WeightMatrices`, are derived again for each slab: a pass over the
    /// weights per slab, under 1% of the slab's product.)
    private struct Tiling {
        let images: Int
        let rows: Int
    }

    private func tiling(batch: Int, _ geo: ConvGeometry) -> Tiling {
        tiling(batch: batch, patchSize: patchSize, height: geo.outputHeight, width: geo.outputWidth, direct: isPointwise)
    }

    /// The cut of a product whose column matrix has `patchSize` rows and one
    /// column per pixel of a `height` x `width` result; `direct` products
    /// read their right-hand side without a column matrix and are never cut
    /// in slabs.
    private func tiling(batch: Int, patchSize: Int, height: Int, width: Int, direct: Bool) -> Tiling {
        let perImage = patchSize * height * width
        if perImage <= Self.columnBudget || direct {
            return Tiling(images: max(1, min(batch, Self.columnBudget / max(1, perImage))), rows: height)
        }
        return Tiling(images: 1, rows: max(1, Self.columnBudget / (patchSize * width)))
    }

    /// Floats each operand or result of one oneDNN call may hold (4 MB): a
    /// batch runs in calls of as many images as fit (one image of
    /// ResNet-50's 56x56 layers, the whole batch of the late ones), so the
    /// blocked copies and the ratio `S` of the two relevance passes stay
    /// small (16 MB cost ResNet-50 0.12 GB of peak memory at batch 4).
    static let callBudget = 1 << 20

    /// Floats of oneDNN working memory (the primitive's scratchpad,
    /// `ConvolutionPrimitive.scratchpadFloats`, or a forward's,
    /// `ConvolutionForwardPrimitive.scratchpadFloats`) one call may take, whatever
    /// its kernel (Winograd, direct or 1x1): 32 MB, per relevance pass and
    /// per core a batch runs on. Winograd's is the large one: its
    /// transformed weights and tiles are 4x `W` and 2.25x `g` and `dx`
    /// (ResNet-50's 256-channel 14x14 layers: 20 MB for four images;
    /// VGG-16's 256-channel 56x56 layers 24 MB for one image, its
    /// 512-channel 28x28 layers 58 MB for two), which above this put the
    /// peak memory over its limits. A shape whose primitive needs more runs
    /// on im2col + sgemm; tests set it below zero to run every product there.
    nonisolated(unsafe) static var scratchpadBudget = 1 << 23

    /// The oneDNN calls that compute `M^T ⊛ g` for `images` images of `geo`
    /// (`ConvolutionPrimitive`: the first image of each call and its
    /// primitive, the last call smaller when the batch does not divide), or
    /// nil where im2col + sgemm does: on the shapes
    /// `ConvolutionShape.backwardRunsOnOneDNN` names, within
    /// `scratchpadBudget`, on weights the old path derives in one block.
    func convolutionCalls(images: Int, _ geo: ConvGeometry) -> [(first: Int, primitive: ConvolutionPrimitive)]? {
        let n = imagesPerCall(images, geo)
        guard convolutionShape(images: n, geo).backwardRunsOnOneDNN, parameter("weight").count <= WeightMatrices.blockValues,
              let full = ConvolutionPrimitive.cached(convolutionShape(images: n, geo)),
              full.scratchpadFloats <= Self.scratchpadBudget else { return nil }
        return oneDNNCalls(images: images, of: n, full) { ConvolutionPrimitive.cached(convolutionShape(images: $0, geo)) }
    }

    /// Images of one oneDNN call on `geo`, of `images`: as many as keep its
    /// input and output within `callBudget` (at least one).
    private func imagesPerCall(_ images: Int, _ geo: ConvGeometry) -> Int {
        let perImage = max(inChannels * geo.height * geo.width, outChannels * geo.outputPixels)
        return max(1, min(images, Self.callBudget / perImage))
    }

    /// The geometry of a oneDNN call on `count` images of `geo`.
    private func convolutionShape(images count: Int, _ geo: ConvGeometry) -> ConvolutionShape {
        ConvolutionShape(images: count, channels: inChannels, height: geo.height, width: geo.width,
                         outChannels: outChannels, outHeight: geo.outputHeight, outWidth: geo.outputWidth,
                         kernel: kernelSize, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// `images` cut into calls of `n` images, each with its first image and
    /// primitive: `full`, and for a smaller last call (the images do not
    /// divide) `primitive(rest)`; nil where that one is refused.
    private func oneDNNCalls<P>(images: Int, of n: Int, _ full: P, _ primitive: (Int) -> P?) -> [(first: Int, primitive: P)]? {
        let rest = images % n
        guard let last = rest == 0 ? full : primitive(rest) else { return nil }
        return Swift.stride(from: 0, to: images, by: n).map { ($0, $0 + n <= images ? full : last) }
    }

    /// `body(M)` with `matrix` in `primitive`'s weights layout (cached by
    /// `WeightMatrices` for small weights, else prepared for this call).
    private func withWeights(_ matrix: WeightMatrix, for primitive: ConvolutionPrimitive,
                             _ body: (UnsafePointer<Float>) -> Void) {
        weightMatrices.withPrepared(matrix, of: parameter("weight"), layout: primitive.shape, count: primitive.weightsCount,
                                    rearrange: primitive.prepareWeights, body)
    }

    /// `M^T ⊛ S` (oneDNN's backward data) at the input's shape, `S` being
    /// `g` or `g / (|y| + 1e-9)`, multiplied by `x` elementwise with an `x`;
    /// per call of `convolutionCalls`. With the primitive's channel-blocked
    /// layouts the ratio is formed as `S` is blocked and the product with
    /// `x` taken as the result is unblocked (`ChannelBlocks`), else `S` is
    /// gathered in NCHW for oneDNN's reorders. nil where oneDNN refuses the shape.
    private func convolutionBackwardProduct(_ g: Tensor, dividedBy y: Tensor?, inputShape: [Int], matrix: WeightMatrix,
                                            times x: Tensor?) -> Tensor? {
        let b = inputShape[0]
        let geo = geometry(height: inputShape[2], width: inputShape[3])
        precondition(g.shape == [b, outChannels, geo.outputHeight, geo.outputWidth], "\(name): gradient \(g.shape) for input \(inputShape)")
        guard let calls = convolutionCalls(images: b, geo) else { return nil }
        let (inImage, outImage, inPixels) = (inChannels * geo.height * geo.width, outChannels * geo.outputPixels, geo.height * geo.width)
        let ratio = RatioGather(y: y)
        let chunk = calls[0].primitive.shape.images
        let gathered = Scratch(count: y == nil || calls[0].primitive.operandBlock != nil ? 0 : chunk * outImage)
        defer { gathered.free() }
        return withValues(of: x) { xs in
        ratio.withDenominators { ys in
            g.storage.withUnsafeBufferPointer { gs in
                Tensor(shape: inputShape) { dx in
                    for (first, primitive) in calls {
                        let n = primitive.shape.images, offset = first * outImage
                        let (source, target) = (gs.baseAddress! + offset, dx + first * inImage)
                        guard ys != nil || xs != nil else {
                            withWeights(matrix, for: primitive) { w in primitive.run(source, weights: w, into: target) }
                            continue
                        }
                        withWeights(matrix, for: primitive) { w in
                            primitive.run(writingOperand: { operand in
                                guard let ys = ys.map({ $0 + offset }) else { return primitive.reorderOperand(source, into: operand) }
                                if let block = primitive.operandBlock {
                                    ChannelBlocks.blockRatio(source, dividedBy: ys, images: n, channels: outChannels,
                                                             pixels: geo.outputPixels, block: block, into: operand)
                                } else {
                                    ratio.gather(source, ys, rows: n * outChannels, count: geo.outputPixels,
                                                 sourceStride: geo.outputPixels, into: gathered.base, stride: geo.outputPixels)
                                    primitive.reorderOperand(gathered.base, into: operand)
                                }
                            }, weights: w, readingResult: { result in
                                guard let xs = xs.map({ $0 + first * inImage }) else { return primitive.reorderResult(result, into: target) }
                                if let block = primitive.resultBlock {
                                    ChannelBlocks.unblockProduct(result, times: xs, images: n, channels: inChannels,
                                                                 pixels: inPixels, block: block, into: target)
                                } else {
                                    primitive.reorderResult(result, into: target)
                                    for j in 0..<n { multiply(target + j * inImage, by: xs + j * inImage, count: inImage) }
                                }
                            })
                        }
                    }
                }
            }
        }
        }
    }

    override public func apply(_ x: Tensor) -> Tensor {
        product(x, .weight, bias: hasBias ? parameter("bias").storage : nil)
    }

    override func forwardProduct(_ x: Tensor, _ matrix: WeightMatrix) -> Tensor { product(x, matrix, bias: nil) }

    override func addingBias(_ y: Tensor, _ b: [Float]) -> Tensor {
        var out = y
        let plane = y.shape[2] * y.shape[3]
        out.storage.withUnsafeMutableBufferPointer { os in
            for i in os.indices { os[i] += b[(i / plane) % outChannels] }
        }
        return out
    }

    /// Calls `body(group, rows, M[rows, :], isFirstOfGroup)` for the blocks of
    /// output channels `WeightMatrices.forEachBlock` hands out, cut where a
    /// group ends, so that each call is one GEMM of one group (callers
    /// accumulate a group's products with `beta = isFirstOfGroup ? 0 : 1`).
    /// With one group these are `forEachBlock`'s blocks unchanged.
    private func forEachGroupBlock(_ matrix: WeightMatrix, of weight: Tensor,
                                   _ body: (Int, Range<Int>, UnsafePointer<Float>, Bool) -> Void) {
        weightMatrices.forEachBlock(matrix, of: weight, rows: outChannels) { block, m, isFirst in
            guard groups > 1 else { return body(0, block, m, isFirst) }
            let perGroup = outChannels / groups
            var row = block.lowerBound
            while row < block.upperBound {
                let group = row / perGroup, end = min(block.upperBound, (group + 1) * perGroup)
                body(group, row..<end, m + (row - block.lowerBound) * groupPatchSize, row == group * perGroup)
                row = end
            }
        }
    }

    /// `M · im2col(x_b) + bias` for every image: the batch in parts, one per
    /// core (`forEachBatchPart`), each part cut as `Tiling` says.
    private func product(_ x: Tensor, _ matrix: WeightMatrix, bias: [Float]?) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "\(name): input \(x.shape), expected (B, \(inChannels), H, W)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let geo = geometry(height: h, width: w)
        precondition(geo.outputHeight > 0 && geo.outputWidth > 0,
                     "\(name): input \(h)x\(w) smaller than the \(kernelSize)x\(kernelSize) kernel (dilation \(dilation))")
        let weight = parameter("weight")
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: [b, outChannels, geo.outputHeight, geo.outputWidth]) { ys in
                forEachBatchPart(b) { images in
                    guard !convolutionForward(xs.baseAddress!, images, geo, matrix, bias: bias, into: ys) else { return }
                    product(xs.baseAddress!, images, geo, matrix, of: weight, bias: bias, into: ys)
                }
            }
        }
    }

    /// The oneDNN calls of the forward of `images` images of `geo`
    /// (`ConvolutionForwardPrimitive`: the first image of each call and its
    /// primitive, the last call smaller when the images do not divide), or
    /// nil where im2col + sgemm computes it (`ConvolutionShape.forwardAlgorithm`;
    /// direct where Winograd's working memory would pass `scratchpadBudget`).
    func forwardCalls(images: Int, _ geo: ConvGeometry, _ matrix: WeightMatrix = .weight,
                      hasBias: Bool) -> [(first: Int, primitive: ConvolutionForwardPrimitive)]? {
        let n = imagesPerCall(images, geo)
        guard let choice = convolutionShape(images: n, geo).forwardAlgorithm else { return nil }
        // Winograd's weights are transformed: the derived matrices' transforms, elementwise on `W`, cannot follow
        guard matrix == .weight || choice == .direct else { return nil }
        for algorithm in choice == .winograd ? [choice, .direct] : [choice] {
            func primitive(_ count: Int) -> ConvolutionForwardPrimitive? {
                ConvolutionForwardPrimitive.cached(.init(convolution: convolutionShape(images: count, geo), algorithm: algorithm,
                                                         hasBias: hasBias))
            }
            guard let full = primitive(n), full.scratchpadFloats <= Self.scratchpadBudget else { continue }
            return oneDNNCalls(images: images, of: n, full, primitive)
        }
        return nil
    }

    /// `M ⊛ x + bias` of the images `images` of `x` into their images of `y`
    /// on oneDNN (`forwardCalls`); false, nothing written, where im2col + sgemm computes it.
    private func convolutionForward(_ x: UnsafePointer<Float>, _ images: Range<Int>, _ geo: ConvGeometry, _ matrix: WeightMatrix,
                                    bias: [Float]?, into y: UnsafeMutablePointer<Float>) -> Bool {
        guard let calls = forwardCalls(images: images.count, geo, matrix, hasBias: bias != nil) else { return false }
        let (inImage, outImage) = (inChannels * geo.height * geo.width, outChannels * geo.outputPixels)
        (bias ?? []).withUnsafeBufferPointer { bs in
            for (first, primitive) in calls {
                let image = images.lowerBound + first
                weightMatrices.withPrepared(matrix, of: parameter("weight"), layout: primitive.shape, count: primitive.weightsCount,
                                            rearrange: primitive.prepareWeights) { w in
                    primitive.run(x + image * inImage, weights: w, bias: bias == nil ? nil : bs.baseAddress,
                                  into: y + image * outImage)
                }
            }
        }
        return true
    }

    /// `product` of the images `images` of `x` into their images of `y`.
    private func product(_ x: UnsafePointer<Float>, _ images: Range<Int>, _ geo: ConvGeometry, _ matrix: WeightMatrix,
                         of weight: Tensor, bias: [Float]?, into y: UnsafeMutablePointer<Float>) {
        let (oh, ow, l, p, imageSize) = (geo.outputHeight, geo.outputWidth, geo.outputPixels, patchSize, geo.channels * geo.height * geo.width)
        let k = groupPatchSize
        let tile = tiling(batch: images.count, geo)
        let direct = isPointwise && tile.images == 1
        let columns = Scratch(count: direct ? 0 : p * tile.images * tile.rows * ow)
        let product = Scratch(count: tile.images == 1 ? 0 : outChannels * tile.images * l)
        defer { columns.free(); product.free() }
        for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: tile.images) {
            let n = min(tile.images, images.upperBound - first)
            for top in Swift.stride(from: 0, to: oh, by: tile.rows) {
                let rows = top..<min(oh, top + tile.rows), width = rows.count * ow, ld = n * width
                // columns [p, n * width]: image j's at column offset j * width
                if !direct {
                    for j in 0..<n {
                        let image = x + (first + j) * imageSize
                        if isPointwise {
                            for c in 0..<p { (columns.base + c * ld + j * width).update(from: image + c * l, count: l) }
                        } else {
                            im2col(image, geo, columns.base + j * width, ldc: ld, outputRows: rows)
                        }
                    }
                }
                let cols = direct ? x + first * imageSize : UnsafePointer(columns.base)
                // each block of output channels of M writes its own rows,
                // from its group's rows of the column matrix
                forEachGroupBlock(matrix, of: weight) { group, block, m, _ in
                    let groupColumns = cols + group * k * ld
                    if n == 1 {
                        sgemm(m: block.count, n: width, k: k, a: m, b: groupColumns,
                              c: y + first * outChannels * l + block.lowerBound * l + top * ow, ldc: l)
                    } else {
                        sgemm(m: block.count, n: ld, k: k, a: m, b: groupColumns, c: product.base + block.lowerBound * ld)
                    }
                }
                if n > 1 {
                    for j in 0..<n {
                        let image = y + (first + j) * outChannels * l
                        for o in 0..<outChannels { (image + o * l).update(from: product.base + o * ld + j * l, count: l) }
                    }
                }
            }
            guard let bias else { continue }
            for plane in (first * outChannels)..<((first + n) * outChannels) {
                let v = bias[plane % outChannels], out = y + plane * l
                for k in 0..<l { out[k] += v }
            }
        }
    }

    /// `col2im(M^T · g)` for each `M` in `matrices`.
    override func backwardProducts(_ g: Tensor, inputShape: [Int], matrices: [WeightMatrix]) -> [Tensor] {
        var outputs: [Tensor] = []
        for matrix in matrices {
            outputs.append(backwardProduct(g, inputShape: inputShape, matrix: matrix))
        }
        return outputs
    }

    /// absLRP with a nonnegative input in one product: `x * col2im((W + |W|)^T S)`,
    /// the multiplication by `x` done image by image.
    override func rectifiedContribution(_ s: Tensor, _ x: Tensor) -> Tensor {
        rectifiedContribution(s, dividedBy: nil, x)
    }

    /// `AffineLayer`'s absLRP contributions from the relevance `R` at the
    /// output, with `S = R / (|y| + 1e-9)` formed inside the products, slab
    /// by slab as their right-hand side is gathered, instead of as a tensor
    /// of the output's size (51 MB per pass at VGG-16's first layers, batch 4).
    override public func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        let x = record.inputs[0], y = record.output
        if record.nonnegativeInput { return [rectifiedContribution(r, dividedBy: y, x)] }
        let d = backwardProduct(r, dividedBy: y, inputShape: x.shape, matrix: .weight)
        let a = backwardProduct(r, dividedBy: y, inputShape: x.shape, matrix: .absolute)
        return [fusedContribution(x, detached: d, absolute: a)]
    }

    /// `x * col2im((W + |W|)^T S)`, `S` being `v`, or `v / (|y| + 1e-9)` with `y`.
    private func rectifiedContribution(_ v: Tensor, dividedBy y: Tensor?, _ x: Tensor) -> Tensor {
        backwardProduct(v, dividedBy: y, inputShape: x.shape, matrix: .rectifiedSum, times: x)
    }

    /// `M^T · g` at the input's shape, each image of it multiplied
    /// elementwise by its image of `x` once complete, with an `x` (the
    /// input, `rectifiedContribution`'s last step). With `dividedBy: y` the
    /// right-hand side is `g / (|y| + 1e-9)` (`y` of `g`'s shape), formed
    /// as each slab of it is gathered. A stride-1 convolution whose
    /// transpose is a convolution (`transposeGeometry`) runs as one
    /// (`transposedConvolution`), the others as `col2im(M^T · g)`
    /// (`foldedBackwardProduct`).
    private func backwardProduct(_ g: Tensor, dividedBy y: Tensor? = nil, inputShape: [Int], matrix: WeightMatrix,
                                 times x: Tensor? = nil) -> Tensor {
        if let dx = convolutionBackwardProduct(g, dividedBy: y, inputShape: inputShape, matrix: matrix, times: x) { return dx }
        if let transpose = transposeGeometry(outputHeight: g.shape[2], outputWidth: g.shape[3]) {
            return transposedConvolution(g, dividedBy: y, inputShape: inputShape, matrix: matrix, transpose, times: x)
        }
        return foldedBackwardProduct(g, dividedBy: y, inputShape: inputShape, matrix: matrix, times: x)
    }

    /// The convolution that is this one's transpose, over an output `g` of
    /// `O` channels and `OH x OW` pixels: tap `(i, j)` of `W` moves input
    /// pixel `(y, x)` to output pixel `(y + p - i d, x + p - j d)` at
    /// stride 1, so input pixel `(y, x)` gathers from `g` at
    /// `(y - p' + i' d, x - p' + j' d)` with the flipped tap `i' = kh - 1 - i`
    /// and `p' = d (kh - 1) - p`, a convolution of `g` with padding `p'`
    /// whose output is `H x W` again:
    ///
    ///     dx = W'^T ⊛ g,   W'^T[c, o, i', j'] = W[o, c, kh-1-i', kw-1-j']
    ///
    /// Used where it pays (docs/benchmarks.md, session 5), otherwise nil:
    /// - "same" convolutions only (stride 1, `2p = d (kh - 1)`, so `p' = p`
    ///   and `H x W = OH x OW`: the same multiply-adds as `col2im(M^T g)`;
    ///   an unpadded convolution's transpose would multiply the zeros of its
    ///   wide padding, VGG's 7x7 `pre_logits.fc1` on a 7x7 map 49 times the
    ///   products), with a kernel wider than 1x1 (a pointwise product reads
    ///   `g` directly);
    /// - no more output than input channels (the unfolded `g`, which
    ///   OpenBLAS packs again, has `O kh kw` rows, the folded matrix
    ///   `C kh kw`);
    /// - weights that `WeightMatrices` caches (the early, wide layers, where
    ///   the fold costs most next to the product; rearranging a large
    ///   weight on every call cost more than the fold it saved).
    func transposeGeometry(outputHeight: Int, outputWidth: Int) -> ConvGeometry? {
        guard stride == 1, kernelSize > 1, 2 * padding == dilation * (kernelSize - 1), outChannels <= inChannels,
              parameter("weight").count <= WeightMatrices.cacheLimit else { return nil }
        return ConvGeometry(channels: outChannels, height: outputHeight, width: outputWidth, kernelHeight: kernelSize,
                            kernelWidth: kernelSize, stride: 1, padding: padding, dilation: dilation)
    }

    /// `W'^T` of `matrix` as the `[C, (O/G)*kh*kw]` matrix (group `g`'s
    /// rows `g*C/G ..< (g+1)*C/G` read its own output channels), for `body`.
    private func withTransposedKernel(_ matrix: WeightMatrix, _ body: (UnsafePointer<Float>) -> Void) {
        let (taps, perGroup, inPerGroup) = (kernelSize * kernelSize, outChannels / groups, inChannels / groups)
        let columns = perGroup * taps
        weightMatrices.withRearranged(matrix, of: parameter("weight"), rearrange: { w, a in
            // W[o, c, u, v] (c within o's group) goes to row (group start + c), column (o within group, flipped tap)
            for o in 0..<outChannels {
                for c in 0..<inPerGroup {
                    let source = w + (o * inPerGroup + c) * taps
                    let target = a + ((o / perGroup) * inPerGroup + c) * columns + (o % perGroup) * taps
                    for tap in 0..<taps { target[tap] = source[taps - 1 - tap] }
                }
            }
        }, body)
    }

    /// `dx = M'^T ⊛ S` (`transposeGeometry`), `S` being `g` or the ratio
    /// `g / (|y| + 1e-9)`: `im2col(S)` `[O*kh*kw, pixels]` and one GEMM per
    /// group with inner extent `(O/G)*kh*kw` writes `dx` `[C, pixels]`
    /// directly, cut as `Tiling` says for that column matrix. A slab of
    /// output rows reads rows `top - p' ..< bottom - p' + d (kh - 1)` of `S`
    /// (the halo), which with a `y` are divided into a buffer first.
    private func transposedConvolution(_ g: Tensor, dividedBy y: Tensor?, inputShape: [Int], matrix: WeightMatrix,
                                       _ geo: ConvGeometry, times x: Tensor?) -> Tensor {
        let (b, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (oh, ow, l, pixels, imageSize) = (geo.height, geo.width, geo.height * geo.width, h * w, inChannels * h * w)
        precondition(geo.outputHeight == h && geo.outputWidth == w, "\(name): gradient \(g.shape) for input \(inputShape)")
        let (k, inPerGroup, halo) = (geo.patchSize / groups, inChannels / groups, dilation * (kernelSize - 1))
        let tile = tiling(batch: b, patchSize: geo.patchSize, height: h, width: w, direct: false)
        let columns = Scratch(count: geo.patchSize * tile.images * tile.rows * w)
        let product = Scratch(count: tile.images == 1 ? 0 : inChannels * tile.images * pixels)
        let ratioRows = Scratch(count: y == nil ? 0 : outChannels * min(oh, tile.rows + halo) * ow)
        defer { columns.free(); product.free(); ratioRows.free() }
        let ratio = RatioGather(y: y)
        var output = Tensor(shape: inputShape, filling: { _ in })
        withTransposedKernel(matrix) { kernel in
        withValues(of: x) { xs in
        ratio.withDenominators { ys in
        g.storage.withUnsafeBufferPointer { gs in
            output.storage.withUnsafeMutableBufferPointer { os in
                for first in Swift.stride(from: 0, to: b, by: tile.images) {
                    let n = min(tile.images, b - first), base = os.baseAddress! + first * imageSize
                    for top in Swift.stride(from: 0, to: h, by: tile.rows) {
                        let rows = top..<min(h, top + tile.rows), width = rows.count * w, ld = n * width
                        // columns [O*kh*kw, n * width]: image j's at column offset j * width
                        for j in 0..<n {
                            let offset = (first + j) * outChannels * l
                            guard let ys else {
                                im2col(gs.baseAddress! + offset, geo, columns.base + j * width, ldc: ld, outputRows: rows)
                                continue
                            }
                            // rows of S this slab reads, divided into a buffer seen as an image of those rows
                            let read = max(0, top - geo.padding)..<max(max(0, top - geo.padding), min(oh, rows.upperBound - geo.padding + halo))
                            ratio.gather(gs.baseAddress! + offset + read.lowerBound * ow, ys + offset + read.lowerBound * ow,
                                         rows: outChannels, count: read.count * ow, sourceStride: l,
                                         into: ratioRows.base, stride: read.count * ow)
                            var slab = geo
                            slab.height = read.count
                            im2col(ratioRows.base, slab, columns.base + j * width, ldc: ld,
                                   outputRows: (rows.lowerBound - read.lowerBound)..<(rows.upperBound - read.lowerBound))
                        }
                        for group in 0..<groups {
                            let a = kernel + group * inPerGroup * k, cols = UnsafePointer(columns.base + group * k * ld)
                            if n == 1 {
                                sgemm(m: inPerGroup, n: width, k: k, a: a, b: cols,
                                      c: base + group * inPerGroup * pixels + top * w, ldc: pixels)
                            } else {
                                sgemm(m: inPerGroup, n: ld, k: k, a: a, b: cols, c: product.base + group * inPerGroup * ld)
                            }
                        }
                        if n > 1 {
                            for j in 0..<n {
                                let image = base + j * imageSize
                                for c in 0..<inChannels { (image + c * pixels).update(from: product.base + c * ld + j * pixels, count: pixels) }
                            }
                        }
                    }
                    if let xs { for j in 0..<n { multiply(base + j * imageSize, by: xs + (first + j) * imageSize, count: imageSize) } }
                }
            }
        }
        }
        }
        }
        return output
    }

    /// `col2im(M^T · g)`, cut as in the forward (`Tiling`), for
    /// `backwardProduct`.
    private func foldedBackwardProduct(_ g: Tensor, dividedBy y: Tensor?, inputShape: [Int], matrix: WeightMatrix,
                                       times x: Tensor?) -> Tensor {
        let (b, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let geo = geometry(height: h, width: w)
        let (oh, ow, l, p, imageSize) = (geo.outputHeight, geo.outputWidth, geo.outputPixels, patchSize, inChannels * h * w)
        let k = groupPatchSize
        let tile = tiling(batch: b, geo)
        let direct = isPointwise && tile.images == 1
        let weight = parameter("weight")
        let columns = Scratch(count: direct ? 0 : p * tile.images * tile.rows * ow)
        // the right-hand side, when it is not g itself: several images side by side, or one slab of the ratio
        let gathered = Scratch(count: tile.images > 1 ? outChannels * tile.images * l : (y == nil ? 0 : outChannels * tile.rows * ow))
        defer { columns.free(); gathered.free() }
        let ratio = RatioGather(y: y)
        // col2im accumulates, so its images start at zero; the other paths write every value
        var output = isPointwise ? Tensor(shape: inputShape, filling: { _ in }) : Tensor(shape: inputShape)
        withValues(of: x) { xs in
        ratio.withDenominators { ys in
        g.storage.withUnsafeBufferPointer { gs in
            output.storage.withUnsafeMutableBufferPointer { os in
                for first in Swift.stride(from: 0, to: b, by: tile.images) {
                    let n = min(tile.images, b - first)
                    if n > 1 {
                        // g of the group as one [O, n*l] matrix
                        for j in 0..<n {
                            let offset = (first + j) * outChannels * l
                            ratio.gather(gs.baseAddress! + offset, ys.map { $0 + offset }, rows: outChannels, count: l, sourceStride: l,
                                         into: gathered.base + j * l, stride: n * l)
                        }
                    }
                    let base = os.baseAddress! + first * imageSize
                    for top in Swift.stride(from: 0, to: oh, by: tile.rows) {
                        let rows = top..<min(oh, top + tile.rows), width = rows.count * ow, ld = n * width
                        let offset = first * outChannels * l + top * ow
                        if n == 1, y != nil {
                            // this slab's rows of S = g / (|y| + eps), as an [O, width] matrix
                            ratio.gather(gs.baseAddress! + offset, ys.map { $0 + offset }, rows: outChannels, count: width,
                                         sourceStride: l, into: gathered.base, stride: width)
                        }
                        let (rhs, ldRHS) = n > 1 ? (UnsafePointer(gathered.base), ld)
                                         : (y == nil ? (UnsafePointer(gs.baseAddress! + offset), l) : (UnsafePointer(gathered.base), width))
                        // direct: the column matrix is the input gradient itself
                        let target = direct ? base : columns.base
                        // target[p, ld] = M[O, p]^T · rhs[O, ld], accumulated over blocks of O;
                        // with groups, group g's rows of target from group g's rows of M and rhs
                        forEachGroupBlock(matrix, of: weight) { group, block, m, isFirst in
                            sgemm(transposeA: true, m: k, n: ld, k: block.count, a: m, b: rhs + block.lowerBound * ldRHS,
                                  ldb: ldRHS, beta: isFirst ? 0 : 1, c: target + group * k * ld)
                        }
                        for j in 0..<n where !direct {
                            let image = base + j * imageSize
                            if isPointwise {
                                for c in 0..<p { (image + c * l).update(from: columns.base + c * ld + j * l, count: l) }
                            } else {
                                col2im(UnsafePointer(columns.base + j * width), geo, image, ldc: ld, outputRows: rows)
                            }
                        }
                    }
                    if let xs { for j in 0..<n { multiply(base + j * imageSize, by: xs + (first + j) * imageSize, count: imageSize) } }
                }
            }
        }
        }
        }
        return output
    }
}

/// `body(base address of t's values)`, nil without a `t`.
private func withValues<T>(of t: Tensor?, _ body: (UnsafePointer<Float>?) -> T) -> T {
    guard let t else { return body(nil) }
    return t.storage.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// `image[k] *= x[k]` for `k < count`, in parallel: an image of
/// `rectifiedContribution`'s result times its image of the input.
private func multiply(_ image: UnsafeMutablePointer<Float>, by x: UnsafePointer<Float>, count: Int) {
    parallelChunks(count) { range in
        for k in range { image[k] *= x[k] }
    }
}

/// Copies rows of a right-hand side `g` into a gathered matrix, dividing by
/// `|y| + 1e-9` on the way when there is a `y` (absLRP's `S = R / (|y| + eps)`).
private struct RatioGather {
    let y: Tensor?

    /// `body(base address of y's values)`, nil without a `y`.
    func withDenominators<T>(_ body: (UnsafePointer<Float>?) -> T) -> T { withValues(of: y, body) }

    /// `out[r * stride + i] = g[r * sourceStride + i] (/ (|y[r * sourceStride + i]| + eps))`
    /// for `r < rows`, `i < count`; rows in parallel.
    func gather(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>?, rows: Int, count: Int, sourceStride: Int,
                into out: UnsafeMutablePointer<Float>, stride: Int) {
        guard let y else {
            for r in 0..<rows { (out + r * stride).update(from: g + r * sourceStride, count: count) }
            return
        }
        parallelChunks(rows, minimumChunk: max(1, (1 << 15) / max(1, count))) { range in
            for r in range {
                let (source, denominator, target) = (g + r * sourceStride, y + r * sourceStride, out + r * stride)
                for i in 0..<count { target[i] = source[i] / (abs(denominator[i]) + relevanceEpsilon) }
            }
        }
    }
}

import Foundation

/// One matrix product as BLAS sees it (`sgemm`, row-major):
///
///     C[m x n] = op(A)[m x k] · op(B)[k x n],   op(X) = X or X^T
///
/// A is stored `[k, m]` when `transposeA`, else `[m, k]`; B `[n, k]` when
/// `transposeB`, else `[k, n]`.
public struct GEMMShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public var transposeA = false
    public var transposeB = false
    public var m: Int
    public var n: Int
    public var k: Int

    public init(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int) {
        self.transposeA = transposeA; self.transposeB = transposeB; self.m = m; self.n = n; self.k = k
    }

    /// 2 FLOPs per multiply-add.
    public var flop: Double { 2 * Double(m) * Double(n) * Double(k) }

    public var description: String { "\(transposeA ? "A^T" : "A")\(transposeB ? "B^T" : "B") \(m)x\(n)x\(k)" }
}

/// One matrix product as the code computes it, through the kernel the layer
/// calls for it.
enum MatrixProduct: Hashable, CustomStringConvertible {
    /// An OpenBLAS sgemm.
    case gemm(GEMMShape)
    /// A oneDNN backward-data convolution (one of Conv2d's calls, `images` of the batch).
    case convolution(ConvolutionShape)
    /// A oneDNN forward convolution (one of Conv2d's forward calls, `images` of a batch part).
    case forwardConvolution(ConvolutionForwardPrimitive.Shape)
    /// A oneDNN matmul (one of Linear's forward calls, a part of the batch's rows).
    case matmul(MatmulPrimitive.Shape)

    /// FLOPs of the product computed directly, 2 per multiply-add (what the
    /// honest limit counts, whatever algorithm computes the product): for a
    /// convolution, either direction, `2 * images * O * OH * OW * (C/G) * kh * kw`.
    var flop: Double {
        switch self {
        case .gemm(let shape): shape.flop
        case .convolution(let c): c.flop
        case .forwardConvolution(let f): f.convolution.flop
        case .matmul(let m): 2 * Double(m.rows) * Double(m.inFeatures) * Double(m.outFeatures)
        }
    }

    /// Whether its kernel multiplies less than the direct product (oneDNN's Winograd).
    var isWinograd: Bool {
        switch self {
        case .convolution(let c): c.algorithm == .winograd
        case .forwardConvolution(let f): f.algorithm == .winograd
        case .gemm, .matmul: false
        }
    }

    var description: String {
        switch self {
        case .gemm(let shape): shape.description
        case .convolution(let c): "conv backward data \(c.algorithm == .winograd ? "winograd" : "direct") \(c.geometryDescription)"
        case .forwardConvolution(let f):
            "conv forward \(f.algorithm == .winograd ? "winograd" : "direct") \(f.convolution.geometryDescription)\(f.hasBias ? " + bias" : "")"
        case .matmul(let m): "matmul x[\(m.rows)x\(m.inFeatures)] W^T -> \(m.outFeatures) on one thread"
        }
    }
}

extension ConvolutionShape {
    /// `2 * images * O * OH * OW * (C/G) * kh * kw`, either direction.
    var flop: Double {
        2 * Double(images * outChannels * outHeight * outWidth) * Double(channels / groups * kernel * kernel)
    }
}

/// A layer whose cost is matrix products, and those products on a recorded
/// batch, over the whole batch at once (the products any implementation
/// must compute; ours may cut them into slabs or images), each as the
/// layer computes it:
/// - `forwardMatrixProducts`: the forward;
/// - `backwardMatrixProducts`: one gradient through the layer, the VJP `M^T g` for
///   every input that needs one;
/// - `relevanceMatrixProducts`: one absLRP pass through the layer.
protocol MatrixProductLayer: Module {
    func forwardMatrixProducts(_ record: Record) -> [MatrixProduct]
    func backwardMatrixProducts(_ record: Record) -> [MatrixProduct]
    func relevanceMatrixProducts(_ record: Record) -> [MatrixProduct]
}

extension Array {
    func repeated(_ times: Int) -> [Element] { (0..<times).flatMap { _ in self } }
}

extension MatrixProductLayer where Self: AffineLayer {
    /// `x (W^T S) + |x| (|W|^T S)`: two products for inputs of both signs,
    /// one (`(W + |W|)^T S`) for nonnegative inputs.
    func relevanceMatrixProducts(_ record: Record) -> [MatrixProduct] {
        backwardMatrixProducts(record).repeated(record.nonnegativeInput ? 1 : 2)
    }
}

extension Conv2d: MatrixProductLayer {
    /// As `apply` computes it: per part of the batch (`forEachBatchPart`,
    /// run here to hand out the same parts with the same threads) the
    /// oneDNN forward calls where `forwardCalls` has them; otherwise, per
    /// group (`G` groups), `W_g[O/G, K] · cols[K, B*OH*OW]` with
    /// `K = (C/G)*kh*kw`, all images' columns side by side.
    func forwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let lock = NSLock()
        var parts: [(first: Int, products: [MatrixProduct])?] = []
        forEachBatchPart(record.inputs[0].shape[0]) { part in
            let calls = forwardCalls(images: part.count, geometry(record), hasBias: hasBias)
            lock.withLock { parts.append(calls.map { (part.lowerBound, $0.map { .forwardConvolution($0.primitive.shape) }) }) }
        }
        guard parts.allSatisfy({ $0 != nil }) else { return forwardGEMMs(record).map(MatrixProduct.gemm) }
        return parts.compactMap { $0 }.sorted { $0.first < $1.first }.flatMap(\.products)
    }

    /// The forward's GEMMs, one per group.
    private func forwardGEMMs(_ record: Record) -> [GEMMShape] {
        let y = record.output
        return [GEMMShape(m: outChannels / groups, n: y.shape[0] * y.shape[2] * y.shape[3], k: inChannels / groups * kernelSize * kernelSize)].repeated(groups)
    }

    /// As `backwardProduct` computes `M^T S` (same multiply-adds every way):
    /// oneDNN's backward-data calls over the batch; where Conv2d keeps
    /// im2col, per group, where it runs as a convolution (`transposeGeometry`)
    /// the convolution of `S` with the flipped kernel, `M'_g[C/G, (O/G)*kh*kw]
    /// · im2col(S)[(O/G)*kh*kw, B*H*W]`; otherwise `M_g^T · S[O/G, B*OH*OW]`
    /// with `M_g` stored `[O/G, (C/G)*kh*kw]` (a transposed-A GEMM), before `col2im`.
    func backwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        if let calls = convolutionCalls(images: record.inputs[0].shape[0], geometry(record)) {
            return calls.map { .convolution($0.primitive.shape) }
        }
        let y = record.output
        if transposeGeometry(outputHeight: y.shape[2], outputWidth: y.shape[3]) != nil {
            let n = y.shape[0] * y.shape[2] * y.shape[3]
            return [.gemm(GEMMShape(m: inChannels / groups, n: n, k: outChannels / groups * kernelSize * kernelSize))].repeated(groups)
        }
        return forwardGEMMs(record).map { .gemm(GEMMShape(transposeA: true, m: $0.k, n: $0.n, k: $0.m)) }
    }

    /// The geometry on the recorded input.
    private func geometry(_ record: Record) -> ConvGeometry {
        geometry(height: record.inputs[0].shape[2], width: record.inputs[0].shape[3])
    }
}

extension Linear: MatrixProductLayer {
    /// `x[rows, in] · W[out, in]^T` as `apply` computes it: per part of the
    /// rows (`forEachBatchPart`, run here to hand out the same parts with
    /// the same threads) one oneDNN matmul of the part's rows where it runs
    /// on one thread, or an sgemm (a single row, or where oneDNN has no fast matmul).
    func forwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let rows = record.inputs[0].count / inFeatures
        let lock = NSLock()
        var parts: [(first: Int, product: MatrixProduct)] = []
        forEachBatchPart(rows) { part in
            let shape = MatmulPrimitive.Shape(rows: part.count, inFeatures: inFeatures, outFeatures: outFeatures, hasBias: hasBias)
            let product: MatrixProduct = DNNLEngine.threadsForCaller == 1 && MatmulPrimitive.cached(shape) != nil ? .matmul(shape)
                : .gemm(GEMMShape(transposeB: true, m: shape.rows, n: outFeatures, k: inFeatures))
            lock.withLock { parts.append((part.lowerBound, product)) }
        }
        return parts.sorted { $0.first < $1.first }.map(\.product)
    }

    /// `g[rows, out] · M[out, in]`.
    func backwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        [.gemm(GEMMShape(m: record.inputs[0].count / inFeatures, n: inFeatures, k: outFeatures))]
    }
}

extension MatrixProductLayer where Self: BinaryOperation {
    /// The VJPs for both inputs, of the layer and of its absolute twin.
    func relevanceMatrixProducts(_ record: Record) -> [MatrixProduct] {
        backwardMatrixProducts(record).repeated(2)
    }
}

extension QKMultiply: MatrixProductLayer {
    /// q's and k's matrices, per image and head (in place when fused).
    private func layouts(_ record: Record) -> (q: MatrixLayout, k: MatrixLayout) {
        (q.layout(in: record.inputs[0]), k.layout(in: record.inputs[1]))
    }

    /// `q @ k^T` per head: `q[M, D] · k[N, D]^T`.
    func forwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let (lq, lk) = layouts(record)
        return [.gemm(GEMMShape(transposeB: true, m: lq.rows, n: lk.rows, k: lq.cols))].repeated(lq.count)
    }

    /// Per head `g[M, N] · k[N, D]` (for q) and `g^T · q` (for k, `g` stored `[M, N]`).
    func backwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let (lq, lk) = layouts(record)
        return [.gemm(GEMMShape(m: lq.rows, n: lq.cols, k: lk.rows)),
                .gemm(GEMMShape(transposeA: true, m: lk.rows, n: lq.cols, k: lq.rows))].repeated(lq.count)
    }
}

extension AttentionVMultiply: MatrixProductLayer {
    /// The attention matrices' count and extents `(M, N)`, and v's width `D`.
    private func extents(_ record: Record) -> (count: Int, m: Int, n: Int, d: Int) {
        let a = MatrixLayout.packed(record.inputs[0].shape)
        return (a.count, a.rows, a.cols, v.layout(in: record.inputs[1]).cols)
    }

    /// `a @ v` per head: `a[M, N] · v[N, D]`.
    func forwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let (count, m, n, d) = extents(record)
        return [.gemm(GEMMShape(m: m, n: d, k: n))].repeated(count)
    }

    /// Per head `g[M, D] · v[N, D]^T` (for a) and `a^T · g` (for v, `a` stored `[M, N]`).
    func backwardMatrixProducts(_ record: Record) -> [MatrixProduct] {
        let (count, m, n, d) = extents(record)
        return [.gemm(GEMMShape(transposeB: true, m: m, n: n, k: d)), .gemm(GEMMShape(transposeA: true, m: n, n: d, k: m))].repeated(count)
    }
}

/// A module that adds a branch's input back to the branch's output (an
/// identity shortcut). The reference's absLRP differentiates the shortcut
/// through the branch too (`ResidualAddition.backwardIdentityShortcut`), one
/// gradient through each such branch per pass.
public protocol IdentityShortcutModule: Module {
    /// The modules of each branch whose input is also its shortcut (empty
    /// when the shortcut is not the identity).
    var identityShortcutBranches: [[Module]] { get }
}

/// The matrix products that absLRP, as the reference defines it, needs on
/// one recorded batch of `images` images, over the whole batch, each as the code computes it.
struct AbsLRPProducts {
    var images: Int
    /// The recorded forward (linear layers, convolutions, attention products).
    var forward: [MatrixProduct]
    /// One relevance pass, layer by layer (absLRP runs two, for the
    /// positive and the negative target, concurrently).
    var relevancePass: [MatrixProduct]
    /// Of `relevancePass`, the attention products.
    var attentionInPass: [MatrixProduct]
    /// One pass's gradients through the identity-shortcut branches.
    var shortcutBranchGradients: [MatrixProduct]
    /// One gradient of the logits with respect to the input (every layer's
    /// VJP, first layer included): GAE's masking steps.
    var inputGradient: [MatrixProduct]

    /// Everything one relevance pass multiplies.
    var pass: [MatrixProduct] { relevancePass + shortcutBranchGradients }

    /// GFLOP per image, by kind.
    var count: ProductCount {
        let perImage = { (products: [MatrixProduct]) in products.reduce(0.0) { $0 + $1.flop } / 1e9 / Double(max(1, images)) }
        return ProductCount(forward: perImage(forward), relevancePasses: 2 * perImage(relevancePass),
                            attentionInPasses: 2 * perImage(attentionInPass),
                            shortcutBranchGradients: 2 * perImage(shortcutBranchGradients),
                            inputGradient: perImage(inputGradient),
                            winograd: 2 * perImage(pass.filter(\.isWinograd)))
    }
}

/// The multiply-adds of the matrix products that absLRP, as the reference
/// defines it, needs for one image, in GFLOP (2 FLOPs per multiply-add).
public struct ProductCount: Codable, Sendable, Equatable {
    /// The recorded forward (linear layers, convolutions, attention products).
    public var forward: Double
    /// Both relevance passes (positive and negative target), layer by layer:
    /// two products per affine layer with inputs of both signs, one with
    /// nonnegative inputs, four per attention product.
    public var relevancePasses: Double
    /// Of `relevancePasses`, the attention products.
    public var attentionInPasses: Double
    /// Both passes' gradients through the identity-shortcut branches.
    public var shortcutBranchGradients: Double
    /// One input gradient (not part of absLRP; GAE's masking steps need it).
    public var inputGradient: Double
    /// Of `total`, the products the code computes with Winograd (counted
    /// as direct products like the rest): Winograd F(4x4, 3x3) multiplies
    /// less, so a time below `total` at the peak sgemm rate is possible.
    public var winograd: Double

    /// forward + relevancePasses + shortcutBranchGradients: absLRP's products.
    public var total: Double { forward + relevancePasses + shortcutBranchGradients }
}

extension Classifier {
    /// The products absLRP needs on the batch of `images` images recorded in
    /// `tape` (recorded on this classifier).
    func absLRPProducts(_ tape: Tape, images: Int) -> AbsLRPProducts {
        let layers = productLayers(network.allModules, tape)
        let branches = network.allModules.compactMap { $0 as? IdentityShortcutModule }
            .flatMap(\.identityShortcutBranches).flatMap { $0.flatMap(\.allModules) }
        func products(_ layers: [MatrixProductLayer], _ kind: (MatrixProductLayer, Record) -> [MatrixProduct]) -> [MatrixProduct] {
            layers.flatMap { kind($0, tape.record(for: $0)) }
        }
        return AbsLRPProducts(
            images: images,
            forward: products(layers) { $0.forwardMatrixProducts($1) },
            relevancePass: products(layers) { $0.relevanceMatrixProducts($1) },
            attentionInPass: products(layers.filter { $0 is BinaryOperation }) { $0.relevanceMatrixProducts($1) },
            shortcutBranchGradients: products(productLayers(branches, tape)) { $0.backwardMatrixProducts($1) },
            inputGradient: products(layers) { $0.backwardMatrixProducts($1) })
    }

    private func productLayers(_ modules: [Module], _ tape: Tape) -> [MatrixProductLayer] {
        modules.compactMap { $0 as? MatrixProductLayer }.filter { tape.has($0) }
    }
}

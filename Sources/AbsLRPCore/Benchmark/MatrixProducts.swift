/// A layer whose cost is matrix products, and the shapes of those products
/// in one recorded forward: `(m, n, k)` per GEMM, `m x k` times `k x n`.
///
/// Each backward product of such a layer has the size of a forward one
/// (the same three extents, in another order), so its backward costs are
/// counted in multiples of the forward's:
/// - `relevanceProductFactor`: products of one absLRP pass;
/// - `gradientProductFactor`: products of one (detached) gradient.
public protocol MatrixProductLayer: Module {
    func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)]
    func relevanceProductFactor(_ record: Record) -> Int
    var gradientProductFactor: Int { get }
}

extension AffineLayer {
    /// `x (W^T S) + |x| (|W|^T S)`: two products for inputs of both signs,
    /// one (`(W + |W|)^T S`) for nonnegative inputs.
    public func relevanceProductFactor(_ record: Record) -> Int { record.nonnegativeInput ? 1 : 2 }
    /// `W^T g`.
    public var gradientProductFactor: Int { 1 }
}

extension Conv2d: MatrixProductLayer {
    /// One `[O/G, (C/G)*kh*kw] x [(C/G)*kh*kw, OH*OW]` product per image and group (`G` groups).
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        let y = record.output
        return Array(repeating: (outChannels / groups, y.shape[2] * y.shape[3], inChannels / groups * kernelSize * kernelSize),
                     count: y.shape[0] * groups)
    }
}

extension Linear: MatrixProductLayer {
    /// One `[rows, in] x [in, out]` product.
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        [(record.inputs[0].count / inFeatures, outFeatures, inFeatures)]
    }
}

extension BinaryOperation {
    /// One product per matrix of the batch: `(..., m, k) x (..., k, n)`.
    func batchedForwardProducts(_ record: Record, k: Int) -> [(m: Int, n: Int, k: Int)] {
        let y = record.output
        let (m, n) = (y.shape[y.rank - 2], y.shape[y.rank - 1])
        return Array(repeating: (m, n, k), count: y.count / max(1, m * n))
    }

    /// The VJPs for both inputs, of the layer and of its absolute twin.
    public func relevanceProductFactor(_ record: Record) -> Int { 4 }
    /// The VJPs for both inputs.
    public var gradientProductFactor: Int { 2 }
}

extension QKMultiply: MatrixProductLayer {
    /// `q @ k^T` per head: `(N, D) x (D, N)`.
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        batchedForwardProducts(record, k: q.layout(in: record.inputs[0]).cols)
    }
}

extension AttentionVMultiply: MatrixProductLayer {
    /// `a @ v` per head: `(N, N) x (N, D)` (output in the merged-heads layout).
    public func forwardProducts(_ record: Record) -> [(m: Int, n: Int, k: Int)] {
        let a = record.inputs[0]
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], v.layout(in: record.inputs[1]).cols)
        return Array(repeating: (m, n, k), count: a.count / max(1, m * k))
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

    /// forward + relevancePasses + shortcutBranchGradients.
    public var total: Double { forward + relevancePasses + shortcutBranchGradients }
}

extension Classifier {
    /// The GEMM shapes of one forward over `tape` (recorded on this classifier).
    public func forwardProducts(_ tape: Tape) -> [(m: Int, n: Int, k: Int)] {
        productLayers(network.allModules, tape).flatMap { $0.forwardProducts(tape.record(for: $0)) }
    }

    /// What absLRP's products cost on the images recorded in `tape`, per image
    /// (two relevance passes, as `AbsLRP` runs them).
    public func absLRPProductCount(_ tape: Tape, images: Int) -> ProductCount {
        func flop(_ layer: MatrixProductLayer) -> Double {
            layer.forwardProducts(tape.record(for: layer)).reduce(0.0) { $0 + 2 * Double($1.m * $1.n * $1.k) }
        }
        let layers = productLayers(network.allModules, tape)
        let attention = layers.filter { $0 is BinaryOperation }
        let passes = 2.0, perImage = 1e9 * Double(max(1, images))
        let branches = network.allModules.compactMap { $0 as? IdentityShortcutModule }
            .flatMap(\.identityShortcutBranches).flatMap { $0.flatMap(\.allModules) }
        return ProductCount(
            forward: layers.reduce(0) { $0 + flop($1) } / perImage,
            relevancePasses: passes * layers.reduce(0) { $0 + Double($1.relevanceProductFactor(tape.record(for: $1))) * flop($1) } / perImage,
            attentionInPasses: passes * attention.reduce(0) { $0 + Double($1.relevanceProductFactor(tape.record(for: $1))) * flop($1) } / perImage,
            shortcutBranchGradients: passes * productLayers(branches, tape).reduce(0) { $0 + Double($1.gradientProductFactor) * flop($1) } / perImage)
    }

    private func productLayers(_ modules: [Module], _ tape: Tape) -> [MatrixProductLayer] {
        modules.compactMap { $0 as? MatrixProductLayer }.filter { tape.has($0) }
    }
}

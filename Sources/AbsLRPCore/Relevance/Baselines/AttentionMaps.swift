/// What the attention-based methods read from a Vision Transformer: each
/// block's attention weights `A = softmax(q k^T / sqrt(d))` (B, H, T, T), the
/// recorded output of its `softmax_attention`, and the gradient at them, traced
/// at the first input of its `attention_v_multiply` (`A @ v`).
struct AttentionMaps {
    /// Per block, in forward order: the softmax and the product that consumes its output.
    let sites: [(softmax: Softmax, product: AttentionVMultiply)]
    /// Patch tokens per side.
    let gridSize: Int

    /// The attention sites of `classifier`, which must be a Vision Transformer
    /// (throws ``RelevancyMethodError/notApplicable(method:architecture:reason:)`` for `method` otherwise).
    init(_ classifier: Classifier, method: String) throws {
        let architecture = classifier.configuration.architecture
        guard architecture.kind == .attention,
              let c = architecture.configuration(as: VisionTransformerConfiguration.self) else {
            throw RelevancyMethodError.notApplicable(
                method: method, architecture: architecture.familyName,
                reason: "it reads self-attention matrices, which CNNs do not have; use gradcam")
        }
        let modules = classifier.network.allModules
        sites = Array(zip(modules.compactMap { $0 as? Softmax }, modules.compactMap { $0 as? AttentionVMultiply }))
        precondition(sites.count == c.depth, "expected one attention per block")
        gridSize = c.gridSize
    }

    /// Each block's attention weights (B, H, T, T) from a recorded forward.
    func weights(_ tape: Tape) -> [Tensor] { sites.map { tape.record(for: $0.softmax).output } }

    /// Each block's `∂ f_t / ∂ A` (B, H, T, T) from the traces of a gradient pass.
    func gradients(_ traces: [String: Tensor]) -> [Tensor] { sites.map { traces[$0.product.childName("0")]! } }

    /// `mean_h t[:, h]`: (B, H, T, T) to (B, T, T).
    static func meanOverHeads(_ t: Tensor) -> Tensor {
        let (b, heads, tokens) = (t.shape[0], t.shape[1], t.shape[2])
        let size = tokens * tokens
        var out = Tensor(shape: [b, tokens, tokens])
        for i in 0..<b {
            for h in 0..<heads {
                let base = (i * heads + h) * size
                for j in 0..<size { out.storage[i * size + j] += t.storage[base + j] / Float(heads) }
            }
        }
        return out
    }

    /// B identity matrices (B, T, T).
    static func identities(batch: Int, tokens: Int) -> Tensor {
        var out = Tensor(shape: [batch, tokens, tokens])
        for i in 0..<batch { for j in 0..<tokens { out.storage[(i * tokens + j) * tokens + j] = 1 } }
        return out
    }

    /// The class token's row over the patches, `r[:, 0, 1:]` of (B, T, T),
    /// laid out as the patch grid and spread over an input of `shape`
    /// (bilinear upsampling, repeated over channels; see `spreadOverInput`).
    func classTokenMap(_ r: Tensor, inputShape shape: [Int]) -> Tensor {
        let (b, tokens) = (r.shape[0], r.shape[1])
        precondition(tokens == gridSize * gridSize + 1)
        var grid = Tensor(shape: [b, gridSize, gridSize])
        for i in 0..<b {
            let row = i * tokens * tokens
            for p in 0..<(tokens - 1) { grid.storage[i * (tokens - 1) + p] = r.storage[row + 1 + p] }
        }
        return grid.spreadOverInput(shape: shape)
    }
}

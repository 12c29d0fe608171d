/// timm's `VisionTransformer` with class token and token pooling, run as the
/// absLRP reference runs it (spec section 2): its module tree and state-dict
/// keys are timm's, plus the modules the reference adds (`position_embed`,
/// `cls_pool`, `norm_layer`, and in blocks and attention `residual_addition1/2`,
/// `norm_layer1/2`, `qkv_layer`, `qk_multiply`, `softmax_attention`,
/// `attention_v_multiply`), which name the relevance traces.
///
/// - input (B, in_chans, S, S), S = `img_size`; output logits (B, num_classes),
///   or the pooled features (B, embed_dim) when `num_classes` is 0 (`head`
///   is then an Identity, which relevance passes through)
/// - state: `cls_token` (1, 1, C), `pos_embed` (1, T, C) with T = floor(S/p)^2 + 1,
///   `patch_embed.proj.*`, `blocks.i.*`, `norm.*`, `head.*`
///
/// Forward (the reference's modified forward):
///
///     m = patch_embed(x)                           (B, C, S/p, S/p)
///     t = [cls_token; tokens(m)] + pos_embed        (B, T, C)
///     t = blocks(norm_pre(patch_drop(t)))          norm_pre a LayerNorm with pre_norm (CLIP; no patch bias)
///     y = head(head_drop(fc_norm(cls_pool(norm(t)))))
///
/// Backward, relevance or gradient: head, fc_norm, head_drop, cls_pool,
/// norm_layer, blocks in reverse, norm_pre, patch_drop, position_embed (the
/// embedding's share is dropped), the class token's row dropped, the token
/// relevance laid out as (B, C, S/p, S/p), patch_embed (norm, proj).
public final class VisionTransformer: Module {
    public let configuration: VisionTransformerConfiguration

    /// The rules every relevance composite of a Vision Transformer starts
    /// with: relevance passes its identities untouched (`patch_embed.norm`,
    /// `norm_pre`, `ls1`, `drop_path1`, `q_norm`, ...; spec section 1).
    public static let passThroughLayers: [(kind: LayerKind, rule: any RelevanceRule)] = [(.type(Identity.self), PassRule())]

    /// The reference's absLRP rules for Vision Transformers: pass-through
    /// identities, the generic rule everywhere else (dropouts included).
    public static let absLRPComposite = LayerMapComposite(passThroughLayers, fallback: AbsLRPRule())

    /// CP-LRP (Ali et al. 2022) with `rule` on the other layers: pass-through
    /// identities, and the attention softmax a constant (`ConstantRule`), so
    /// relevance reaches the tokens through the values only.
    public static func conservativeComposite(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)],
                                             fallback: any RelevanceRule) -> LayerMapComposite {
        LayerMapComposite(passThroughLayers + [(.type(Softmax.self), ConstantRule())] + layerMap, fallback: fallback)
    }
    private let patchEmbed: Sequential
    private let patchDrop, fcNorm: Identity
    /// An Identity, or with `pre_norm` a LayerNorm explained with its
    /// statistics differentiated (the reference leaves `norm_pre` unmodified).
    private let normPre: Layer
    private let blocks: Sequential
    private let norm: LayerNorm
    private let headDrop: Dropout
    /// The classifier `Linear`, or an `Identity` when `num_classes` is 0 (features out).
    private let head: Layer
    private let clsPool: ClassTokenPool
    private let positionEmbed: PositionEmbed

    public init(_ c: VisionTransformerConfiguration) {
        configuration = c
        let dim = c.embedDim
        patchEmbed = Sequential(name: "patch_embed", [
            Conv2d(name: "patch_embed.proj", inChannels: c.inChannels, outChannels: dim,
                   kernelSize: c.patchSize, stride: c.patchSize, bias: !c.preNorm),
            Identity(name: "patch_embed.norm"),
        ])
        patchDrop = Identity(name: "patch_drop")
        normPre = c.preNorm ? LayerNorm(name: "norm_pre", features: dim, eps: c.layerNormEps, detachesStatistics: false)
                            : Identity(name: "norm_pre")
        blocks = Sequential(name: "blocks", (0..<c.depth).map { TransformerBlock(name: "blocks.\($0)", c) })
        norm = LayerNorm(name: "norm", features: dim, eps: c.layerNormEps, traceName: "norm_layer")
        fcNorm = Identity(name: "fc_norm")
        headDrop = Dropout(name: "head_drop")
        head = c.numClasses > 0 ? Linear(name: "head", inFeatures: dim, outFeatures: c.numClasses) : Identity(name: "head")
        clsPool = ClassTokenPool(name: "cls_pool")
        positionEmbed = PositionEmbed(name: "position_embed")
        super.init(name: "")
        registerState("cls_token", shape: [1, 1, dim])
        registerState("pos_embed", shape: [1, c.tokenCount, dim])
        [patchEmbed, patchDrop, normPre, blocks, norm, fcNorm, headDrop, head, clsPool, positionEmbed]
            .forEach { register($0) }
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let c = configuration
        precondition(x.rank == 4 && x.shape[1] == c.inChannels && x.shape[2] == c.imageSize && x.shape[3] == c.imageSize,
                     "VisionTransformer: input \(x.shape), expected (B, \(c.inChannels), \(c.imageSize), \(c.imageSize))")
        let patches = patchEmbed.forward(x, context)
        var t = withClassToken(patches)
        t = positionEmbed.forward(t, embedding: parameter("pos_embed"), context)
        t = normPre.forward(patchDrop.forward(t, context), context)
        t = norm.forward(blocks.forward(t, context), context)
        let pooled = clsPool.forward(t, context)
        return head.forward(headDrop.forward(fcNorm.forward(pooled, context), context), context)
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        var v = head.backward(r, context)
        v = headDrop.backward(fcNorm.backward(v, context), context)
        v = norm.backward(clsPool.backward(v, context), context)
        v = patchDrop.backward(normPre.backward(blocks.backward(v, context), context), context)
        let (tokens, _) = positionEmbed.backward2(v, context)
        let result = patchEmbed.backward(patchMap(droppingClassToken: tokens), context)
        context.trace(name, result)
        return result
    }

    /// (B, C, h, w) patch features to (B, 1 + h*w, C) tokens, the class token first.
    private func withClassToken(_ m: Tensor) -> Tensor {
        let (b, dim, plane) = (m.shape[0], m.shape[1], m.shape[2] * m.shape[3])
        let cls = parameter("cls_token").storage
        var t = Tensor(shape: [b, plane + 1, dim])
        t.storage.withUnsafeMutableBufferPointer { ts in
            m.storage.withUnsafeBufferPointer { ms in
                for i in 0..<b {
                    let out = ts.baseAddress! + i * (plane + 1) * dim, src = ms.baseAddress! + i * dim * plane
                    for ch in 0..<dim { out[ch] = cls[ch] }
                    for ch in 0..<dim {
                        for p in 0..<plane { out[(p + 1) * dim + ch] = src[ch * plane + p] }
                    }
                }
            }
        }
        return t
    }

    /// (B, 1 + h*w, C) token values to (B, C, h, w), dropping the class token's row.
    private func patchMap(droppingClassToken t: Tensor) -> Tensor {
        let (b, tokens, dim) = (t.shape[0], t.shape[1], t.shape[2])
        let (plane, side) = (tokens - 1, configuration.gridSize)
        var m = Tensor(shape: [b, dim, side, side])
        m.storage.withUnsafeMutableBufferPointer { ms in
            t.storage.withUnsafeBufferPointer { ts in
                for i in 0..<b {
                    let src = ts.baseAddress! + i * tokens * dim, out = ms.baseAddress! + i * dim * plane
                    for p in 0..<plane {
                        for ch in 0..<dim { out[ch * plane + p] = src[(p + 1) * dim + ch] }
                    }
                }
            }
        }
        return m
    }
}

/// timm's ViT `Block` (pre-norm), as the reference runs it:
///
///     h = x + drop_path1(ls1(attn(norm_layer1(x))))     residual_addition1(branch, x)
///     y = h + drop_path2(ls2(mlp(norm_layer2(h))))      residual_addition2(branch, h)
///
/// - input and output (B, T, C). `norm1`/`norm2` own the LayerNorm
///   parameters; their relevance is traced as `norm_layer1`/`norm_layer2`.
/// - Backward: residual_addition2 splits into (branch, shortcut); the branch
///   goes through drop_path2, ls2, mlp, norm_layer2 and is added to the
///   shortcut's share; the same again with residual_addition1 and attention.
///   Under absLRP the shortcut's share is the reference's: its derivative is
///   the total one, through the branch too (the branch's detached gradient),
///   since the shortcut is the branch's input (the fixtures pin this).
public final class TransformerBlock: Module {
    private let norm1: LayerNorm
    private let attn: SelfAttention
    private let dropPath1, dropPath2: Identity
    /// Identities, or with `init_values` timm's LayerScale (explained by the generic rule).
    private let ls1, ls2: Layer
    private let norm2: LayerNorm
    private let mlp: Sequential
    private let residualAddition1, residualAddition2: ResidualAddition

    public init(name: String, _ c: VisionTransformerConfiguration) {
        func n(_ local: String) -> String { name.isEmpty ? local : "\(name).\(local)" }
        let dim = c.embedDim
        norm1 = LayerNorm(name: n("norm1"), features: dim, eps: c.layerNormEps, traceName: n("norm_layer1"))
        attn = SelfAttention(name: n("attn"), dim: dim, heads: c.numHeads, qkvBias: c.qkvBias)
        ls1 = c.layerScale ? LayerScale(name: n("ls1"), features: dim) : Identity(name: n("ls1"))
        dropPath1 = Identity(name: n("drop_path1"))
        norm2 = LayerNorm(name: n("norm2"), features: dim, eps: c.layerNormEps, traceName: n("norm_layer2"))
        let mlpName = n("mlp")
        func m(_ local: String) -> String { "\(mlpName).\(local)" }
        mlp = Sequential(name: mlpName, [
            Linear(name: m("fc1"), inFeatures: dim, outFeatures: c.hiddenDim),
            c.quickGELU ? QuickGELU(name: m("act")) : GELU(name: m("act")),
            Dropout(name: m("drop1")),
            Identity(name: m("norm")),
            Linear(name: m("fc2"), inFeatures: c.hiddenDim, outFeatures: dim),
            Dropout(name: m("drop2")),
        ])
        ls2 = c.layerScale ? LayerScale(name: n("ls2"), features: dim) : Identity(name: n("ls2"))
        dropPath2 = Identity(name: n("drop_path2"))
        residualAddition1 = ResidualAddition(name: n("residual_addition1"))
        residualAddition2 = ResidualAddition(name: n("residual_addition2"))
        super.init(name: name)
        [norm1, attn, ls1, dropPath1, norm2, mlp, ls2, dropPath2, residualAddition1, residualAddition2]
            .forEach { register($0) }
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        var branch = attn.forward(norm1.forward(x, context), context)
        branch = dropPath1.forward(ls1.forward(branch, context), context)
        let h = residualAddition1.forward(branch, x, context)
        branch = mlp.forward(norm2.forward(h, context), context)
        branch = dropPath2.forward(ls2.forward(branch, context), context)
        return residualAddition2.forward(branch, h, context)
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        // Both additions have the shortcut as the branch's input: under absLRP
        // the shortcut's derivative also flows through the branch, with the
        // modified forward's Jacobian (statistics constant), as the reference's
        // autograd computes it (see `ResidualAddition.backwardIdentityShortcut`).
        let branchContext = BackwardContext(tape: context.tape, rules: .detachedGradient)
        var (branch, shortcut) = residualAddition2.backwardIdentityShortcut(r, context) { g in
            self.mlpBranchBackward(g, branchContext)
        }
        branch = mlpBranchBackward(branch, context)
        (branch, shortcut) = residualAddition1.backwardIdentityShortcut(branch + shortcut, context) { g in
            self.attentionBranchBackward(g, branchContext)
        }
        branch = attentionBranchBackward(branch, context)
        let result = branch + shortcut
        context.trace(name, result)
        return result
    }

    /// drop_path2, ls2, mlp, norm_layer2 in reverse: the second addition's branch.
    private func mlpBranchBackward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        norm2.backward(mlp.backward(ls2.backward(dropPath2.backward(r, context), context), context), context)
    }

    /// drop_path1, ls1, attn, norm_layer1 in reverse: the first addition's branch.
    private func attentionBranchBackward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        norm1.backward(attn.backward(ls1.backward(dropPath1.backward(r, context), context), context), context)
    }
}

/// timm's ViT `Attention` (qkv bias, no q/k norm), as the reference runs it.
///
/// With H heads of width d = C / H and T tokens:
///
///     qkv  = qkv(x)                                 (B, T, 3C), read as (B, T, 3, H, d)
///     q, k, v = split heads                         each (B, H, T, d), views of qkv
///     a    = softmax_attention(qk_multiply(q_norm(q) * d^-0.5, k_norm(k)))   (B, H, T, T)
///     o    = attention_v_multiply(attn_drop(a), v)  (B, T, C), heads merged
///     y    = proj_drop(proj(o))                     (B, T, C)
///
/// Backward: proj_drop, proj, attention_v_multiply (a, v),
/// attn_drop and softmax for a, qk_multiply (q, k), then q_norm / k_norm,
/// the three added in the (B, T, 3C) qkv layout and taken through the qkv
/// Linear (traced as both `qkv` and `qkv_layer`). The scale `d^-0.5` belongs
/// to `qk_multiply` (`QKMultiply.scale`): gradients pick it up, and every
/// rule sees the products of the scaled q, so relevance crosses the scaling
/// unchanged, as in the reference (where it is not a module).
///
/// q, k and v are never copied out of the qkv output: the products read
/// them in place (`HeadOperand.fused`), every record of q_norm, k_norm and
/// the products holds the qkv Linear's own output, and the value at each of
/// q, k, v in a backward pass is a (B, T, 3C) tensor that is zero outside
/// its part, so their sum is the value at the qkv output. `a @ v` writes the
/// merged (B, T, C) layout directly. Only traces copy the parts out, into the
/// reference's (B, H, T, d) layout.
public final class SelfAttention: Module {
    public let heads: Int, headDim: Int
    /// `head_dim^-0.5`, as timm computes it.
    public let scale: Float
    private let qkv, proj: Linear
    private let qNorm, kNorm: Identity
    private let attnDrop, projDrop: Dropout
    private let qkMultiply: QKMultiply
    private let softmaxAttention: Softmax
    private let attentionVMultiply: AttentionVMultiply

    public init(name: String, dim: Int, heads: Int, qkvBias: Bool = true) {
        precondition(heads > 0 && dim % heads == 0, "\(name): dim \(dim) not divisible by \(heads) heads")
        func n(_ local: String) -> String { name.isEmpty ? local : "\(name).\(local)" }
        self.heads = heads
        headDim = dim / heads
        scale = Float(1 / Double(headDim).squareRoot())
        qkv = Linear(name: n("qkv"), inFeatures: dim, outFeatures: 3 * dim, bias: qkvBias)
        qNorm = Identity(name: n("q_norm"))
        kNorm = Identity(name: n("k_norm"))
        attnDrop = Dropout(name: n("attn_drop"))
        proj = Linear(name: n("proj"), inFeatures: dim, outFeatures: dim)
        projDrop = Dropout(name: n("proj_drop"))
        qkMultiply = QKMultiply(name: n("qk_multiply"), scale: scale,
                                q: .fused(heads: heads, parts: 3, part: 0), k: .fused(heads: heads, parts: 3, part: 1))
        softmaxAttention = Softmax(name: n("softmax_attention"))
        attentionVMultiply = AttentionVMultiply(name: n("attention_v_multiply"), v: .fused(heads: heads, parts: 3, part: 2))
        super.init(name: name)
        [qkv, qNorm, kNorm, attnDrop, proj, projDrop, qkMultiply, softmaxAttention, attentionVMultiply]
            .forEach { register($0) }
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        precondition(x.rank == 3, "\(name): input \(x.shape), expected (B, T, C)")
        let fused = qkv.forward(x, context)  // q, k, v are read from it in place
        let (q, k) = (qNorm.forward(fused, context), kNorm.forward(fused, context))
        var a = qkMultiply.forward(q, k, context)  // scales q by head_dim^-0.5 itself
        a = attnDrop.forward(softmaxAttention.forward(a, context), context)
        let o = attentionVMultiply.forward(a, fused, context)  // heads merged: (B, T, C)
        return projDrop.forward(proj.forward(o, context), context)
    }

    override public func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        let merged = context.backward(through: [proj, projDrop], r)
        let av = attentionVMultiply.propagate(merged, context)
        context.trace(attentionVMultiply.childName("0"), av[0])
        tracePart(attentionVMultiply.childName("1"), av[1], attentionVMultiply.v, context)
        let ra = context.backward(through: [softmaxAttention, attnDrop], av[0])
        let qk = qkMultiply.propagate(ra, context)
        tracePart(qkMultiply.childName("0"), qk[0], qkMultiply.q, context)
        tracePart(qkMultiply.childName("1"), qk[1], qkMultiply.k, context)
        let (rq, rk) = (qNorm.propagate(qk[0], context)[0], kNorm.propagate(qk[1], context)[0])
        tracePart(qNorm.name, rq, qkMultiply.q, context)
        tracePart(kNorm.name, rk, qkMultiply.k, context)
        var sum = rq  // the three parts are disjoint: their sum is the value at the qkv output
        sum.add(rk)
        sum.add(av[1])
        let result = qkv.backward(sum, context)
        context.trace(childName("qkv_layer"), result)
        context.trace(name, result)
        return result
    }

    /// Traces the value at one of q, k, v (a (B, T, 3C) tensor, zero outside
    /// the part) in the reference's layout (B, H, T, d).
    private func tracePart(_ name: String, _ value: Tensor, _ part: HeadOperand, _ context: BackwardContext) {
        context.trace(name, part.packedHeads(of: value))
    }
}


extension TransformerBlock: IdentityShortcutModule {
    /// The attention branch and the MLP branch (both additions add the branch's input).
    public var identityShortcutBranches: [[Module]] { [[norm1, attn, ls1, dropPath1], [norm2, mlp, ls2, dropPath2]] }
}

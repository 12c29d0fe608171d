/// timm's `VisionTransformer` class (`vit_*`, `deit_*` without distillation):
/// attention; no Grad-CAM feature map; the cascading randomisation
/// re-initialises whole transformer blocks.
public enum VisionTransformerFamily: ModelFamily {
    public typealias Configuration = VisionTransformerConfiguration
    public static let name = "vision_transformer"
    public static let timmClass = "VisionTransformer"
    public static let kind = ModelKind.attention

    public static func makeNetwork(_ configuration: VisionTransformerConfiguration) -> Module {
        VisionTransformer(configuration)
    }

    /// The position embedding has one row per patch of `img_size`: only that size.
    public static func validateInput(height: Int, width: Int, _ c: VisionTransformerConfiguration, model: String) throws {
        guard height == c.imageSize && width == c.imageSize else {
            throw ClassifierInputError.wrongSize(model: model, expected: "\(c.imageSize)x\(c.imageSize)", actual: [height, width])
        }
    }

    public static func isRandomisationUnit(_ module: Module) -> Bool { module is TransformerBlock }

    public static func memoryEstimate(_ c: VisionTransformerConfiguration, height: Int, width: Int) -> MemoryEstimate {
        let dim = c.embedDim, hidden = c.hiddenDim, tokens = c.tokenCount
        let perBlock = Saturating.sum([Saturating.multiply(dim, 4 * dim + 4), Saturating.multiply(2 * dim + 1, hidden),
                                       Saturating.multiply(dim, 5)])
        let parameters = Saturating.sum([
            Saturating.multiply(perBlock, c.depth),
            Saturating.product([c.inChannels, c.patchSize, c.patchSize, dim]), Saturating.multiply(tokens + 4, dim),
            Saturating.multiply(dim + 1, c.numClasses), c.qkvBias ? 0 : -Saturating.multiply(3 * dim, c.depth),
        ])
        // Per block: about 16 (T, C) tensors, 4 (T, hidden) and 3 (heads, T, T).
        let perBlockActivations = Saturating.sum([Saturating.product([tokens, dim, 16]), Saturating.product([tokens, hidden, 4]),
                                                  Saturating.product([c.numHeads, tokens, tokens, 3])])
        let activations = Saturating.add(Saturating.multiply(perBlockActivations, c.depth),
                                         Saturating.product([height, width, c.inChannels, 2]))
        return MemoryEstimate(parameters: parameters, activationsPerImage: activations)
    }

    public static var absLRPComposite: any Composite { VisionTransformer.absLRPComposite }

    /// CP-LRP: `layerMap` after the pass-through identities and the constant attention softmax.
    public static func lrpComposite(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)],
                                    fallback: any RelevanceRule) -> any Composite {
        VisionTransformer.conservativeComposite(layerMap, fallback: fallback)
    }

    public static func numFeatures(_ c: VisionTransformerConfiguration) -> Int { c.embedDim }

    public static func defaultInputSize(_ c: VisionTransformerConfiguration) -> [Int] {
        [c.inChannels, c.imageSize, c.imageSize]
    }
}

/// The keyword arguments of timm's `VisionTransformer` this toolkit runs:
/// any image and patch size, class token, learned position embedding over
/// all tokens (class token included), optionally a LayerNorm before the
/// blocks (`pre_norm`), pre-norm blocks with or without qkv bias, with or
/// without LayerScale (`init_values`), and exact or quick
/// GELU, final LayerNorm (eps 1e-6, or torch's 1e-5), class-token pooling, a
/// linear head or none (`num_classes` 0). Training-only arguments
/// (drop rates, `weight_init`, `fix_init`) are accepted; other timm options
/// are refused by name rather than silently mis-run.
public struct VisionTransformerConfiguration: ModelFamilyConfiguration {
    public typealias Family = VisionTransformerFamily

    public var imageSize: Int
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    /// Classes of the head; 0 for no head (the pooled features are the output).
    public var numClasses: Int
    public var inChannels: Int
    /// Whether the qkv projection has a bias (timm's `qkv_bias`).
    public var qkvBias: Bool
    /// A LayerNorm after the embedding, before the blocks, and no bias in the
    /// patch projection (timm's `pre_norm`, CLIP).
    public var preNorm: Bool
    /// LayerScale `ls1`/`ls2` in every block (timm's `init_values` not null;
    /// the value only initialises training, the weights hold `gamma`).
    public var layerScale: Bool
    /// The MLP's activation is timm's QuickGELU (`act_layer='quick_gelu'`), not exact GELU.
    public var quickGELU: Bool
    /// Every LayerNorm's eps: 1e-6 (timm's default `norm_layer`), 1e-5 for
    /// `norm_layer` torch's `nn.LayerNorm`.
    public var layerNormEps: Float

    public init(imageSize: Int = 224, patchSize: Int = 16, embedDim: Int = 768, depth: Int = 12, numHeads: Int = 12,
                mlpRatio: Double = 4, numClasses: Int = 1000, inChannels: Int = 3, qkvBias: Bool = true,
                preNorm: Bool = false, layerNormEps: Float = 1e-6, layerScale: Bool = false, quickGELU: Bool = false) {
        self.imageSize = imageSize; self.patchSize = patchSize; self.embedDim = embedDim; self.depth = depth
        self.numHeads = numHeads; self.mlpRatio = mlpRatio; self.numClasses = numClasses; self.inChannels = inChannels
        self.qkvBias = qkvBias; self.preNorm = preNorm; self.layerNormEps = layerNormEps; self.layerScale = layerScale
        self.quickGELU = quickGELU
    }

    /// Tokens per side, `floor(img_size / patch_size)` (the patch
    /// convolution drops the pixels a last patch would not cover).
    public var gridSize: Int { imageSize / patchSize }
    /// Patch tokens plus the class token.
    public var tokenCount: Int { gridSize * gridSize + 1 }
    public var headDim: Int { embedDim / numHeads }
    /// MLP hidden width, `int(embed_dim * mlp_ratio)`.
    public var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }

    static let keys: Set<String> = [
        "img_size", "patch_size", "in_chans", "num_classes", "global_pool", "embed_dim", "depth", "num_heads",
        "mlp_ratio", "qkv_bias", "qk_norm", "init_values", "class_token", "pos_embed", "no_embed_class", "reg_tokens",
        "pre_norm", "final_norm", "fc_norm", "dynamic_img_size", "dynamic_img_pad", "drop_rate", "pos_drop_rate",
        "patch_drop_rate", "proj_drop_rate", "attn_drop_rate", "drop_path_rate", "weight_init", "fix_init",
        "embed_layer", "norm_layer", "act_layer", "block_fn", "mlp_layer",
    ]

    public init(from decoder: Decoder) throws {
        let a = try ModelArguments(decoder, family: VisionTransformerFamily.name, known: Self.keys)
        imageSize = try Self.squareSize(a, "img_size", default: 224)
        patchSize = try Self.squareSize(a, "patch_size", default: 16)
        embedDim = try a.int("embed_dim", default: 768, in: 1...(1 << 16))
        depth = try a.int("depth", default: 12, in: 1...1000)
        numHeads = try a.int("num_heads", default: 12, in: 1...(1 << 12))
        mlpRatio = try a.double("mlp_ratio", default: 4, in: 1.0 / 4096...64)
        numClasses = try a.int("num_classes", default: 1000, in: 0...ModelArguments.maximumCount)
        inChannels = try a.int("in_chans", default: 3, in: 1...(1 << 16))
        qkvBias = try a.bool("qkv_bias", default: true)
        preNorm = try a.bool("pre_norm", default: false)
        layerScale = a.has("init_values")
        if layerScale { _ = try a.double("init_values", default: 1, in: -1e6...1e6) }
        for rate in ["drop_rate", "pos_drop_rate", "patch_drop_rate", "proj_drop_rate", "attn_drop_rate", "drop_path_rate"] {
            _ = try a.double(rate, default: 0, in: 0...1)
        }
        _ = try a.string("weight_init", default: "")
        _ = try a.bool("fix_init", default: false)
        try a.requireBool("class_token", true,
                      reason: "no class token: the reference's ViT forward prepends and pools cls_token, so it cannot run these (pooling over the tokens has no rule there)")
        try a.require("global_pool", in: [.string("token")], reason: "the reference pools the class token only (its cls_pool); other pooling has no rule there")
        try a.require("reg_tokens", in: [.int(0)], reason: "register tokens: the reference's forward does not prepend them, so its position embedding does not fit (it cannot run these)")
        try a.require("pos_embed", in: [.string("learn")], reason: "only a learned position embedding is supported")
        try a.requireBool("no_embed_class", false, reason: "the reference adds pos_embed to the class token too, so it cannot run models whose embedding leaves it out (size mismatch)")
        try a.require("fc_norm", in: [.bool(false), .null], reason: "fc_norm replaces the final norm by an Identity, whose missing eps stops the reference's ViT rule (it cannot run these)")
        try a.requireBool("qk_norm", false, reason: "q/k normalisation (LayerNorms in the attention) is not implemented here; the reference explains it")
        try a.requireBool("dynamic_img_size", false, reason: "dynamic image sizes: timm's patch embedding then keeps the (B, H, W, C) grid, which the reference's ViT forward cannot concatenate with the class token (it cannot run these)")
        try a.requireBool("dynamic_img_pad", false, reason: "dynamic padding is not supported")
        try a.requireBool("final_norm", true, reason: "without the final norm the reference's ViT rule has no eps to read (it cannot run these)")
        // What the reference cannot run decides the refusal before what is
        // not implemented here (measured with scripts/make_reference_fixtures.py's
        // environment on small configurations).
        switch try a.string("norm_layer", default: nil) {
        case nil, "LayerNorm"?: layerNormEps = 1e-6  // timm's partial(nn.LayerNorm, eps=1e-6) / timm's LayerNorm
        case "nn.LayerNorm"?: layerNormEps = 1e-5
        case "RmsNorm"?:
            throw ModelConfigurationError.unsupportedOption(
                name: "norm_layer", value: "\"RmsNorm\"",
                reason: "RmsNorm: the reference's ViT rule rebuilds every norm from its weight and bias, and RmsNorm has no bias (it cannot run these)")
        case let other?:
            throw ModelConfigurationError.unsupportedOption(
                name: "norm_layer", value: "\"\(other)\"", reason: "only LayerNorm is implemented here")
        }
        try a.requireLayer("embed_layer", in: ["PatchEmbed"], reason: "only timm's PatchEmbed is supported")
        try a.requireLayer("block_fn", in: ["Block"],
                           reason: "only timm's pre-norm Block is supported (post-norm and parallel blocks have no rule in the reference)")
        if let raw = a.raw("mlp_layer"), raw != .null, raw != .string("Mlp") {
            let gated = ["GluMlp", "SwiGLU", "SwiGLUPacked"].contains(raw.stringValue ?? raw["partial"]?.stringValue ?? "")
            throw ModelConfigurationError.unsupportedOption(
                name: "mlp_layer", value: "\(raw)",
                reason: gated ? "gated MLPs: the reference explains them as a chain of their layers, which fc1's doubled output gating itself is not (it cannot run these: size mismatch)"
                              : "only timm's two-layer Mlp is supported")
        }
        switch try a.string("act_layer", default: nil) {
        case nil, "gelu"?, "GELU"?, "nn.GELU"?: quickGELU = false
        case "quick_gelu"?, "QuickGELU"?: quickGELU = true
        case let other?:
            throw ModelConfigurationError.unsupportedOption(
                name: "act_layer", value: "\"\(other)\"", reason: "activations other than GELU and QuickGELU (SiLU) are not implemented here; the reference explains them")
        }
        guard patchSize <= imageSize else {
            throw ModelConfigurationError.invalidArgument(
                name: "patch_size", reason: "patch_size \(patchSize) is larger than img_size \(imageSize)")
        }
        guard embedDim % numHeads == 0 else {
            throw ModelConfigurationError.invalidArgument(
                name: "embed_dim", reason: "\(embedDim) is not divisible by num_heads \(numHeads)")
        }
        guard hiddenDim >= 1 else {
            throw ModelConfigurationError.invalidArgument(
                name: "mlp_ratio", reason: "embed_dim \(embedDim) * mlp_ratio \(mlpRatio) is below one channel")
        }
    }

    /// A size given as `n` or `[n, n]` (timm takes both; only square sizes run here).
    private static func squareSize(_ a: ModelArguments, _ key: String, default value: Int) throws -> Int {
        guard case .array = a.raw(key) else { return try a.int(key, default: value, in: 1...(1 << 14)) }
        let sides = try a.ints(key, default: [value, value], count: 2, in: 1...(1 << 14))
        guard sides[0] == sides[1] else {
            throw ModelConfigurationError.unsupportedOption(name: key, value: "\(a.raw(key)!)",
                                                            reason: "only square images and patches are supported")
        }
        return sides[0]
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelArguments.Key.self)
        try c.encode(imageSize, forKey: .init(stringValue: "img_size"))
        try c.encode(patchSize, forKey: .init(stringValue: "patch_size"))
        try c.encode(embedDim, forKey: .init(stringValue: "embed_dim"))
        try c.encode(depth, forKey: .init(stringValue: "depth"))
        try c.encode(numHeads, forKey: .init(stringValue: "num_heads"))
        try c.encode(mlpRatio, forKey: .init(stringValue: "mlp_ratio"))
        try c.encode(numClasses, forKey: .init(stringValue: "num_classes"))
        try c.encode(inChannels, forKey: .init(stringValue: "in_chans"))
        if !qkvBias { try c.encode(false, forKey: .init(stringValue: "qkv_bias")) }
        if preNorm { try c.encode(true, forKey: .init(stringValue: "pre_norm")) }
        if layerScale { try c.encode(1e-5, forKey: .init(stringValue: "init_values")) }
        if quickGELU { try c.encode("quick_gelu", forKey: .init(stringValue: "act_layer")) }
        if layerNormEps != 1e-6 { try c.encode("nn.LayerNorm", forKey: .init(stringValue: "norm_layer")) }
    }
}

extension Architecture {
    public static func visionTransformer(_ c: VisionTransformerConfiguration) -> Architecture { Architecture(c) }
}

/// Arguments of timm's `VisionTransformer` that this toolkit runs: class
/// token, learned position embedding added to all tokens (class token
/// included), pre-norm blocks with qkv bias and exact GELU, final LayerNorm
/// (eps 1e-6), class-token pooling, linear head. Other timm options are
/// refused by name rather than silently mis-run.
public struct VisionTransformerConfiguration: Sendable, Equatable {
    public var imageSize: Int
    public var patchSize: Int
    public var embedDim: Int
    public var depth: Int
    public var numHeads: Int
    public var mlpRatio: Double
    public var numClasses: Int
    public var inChannels: Int

    public init(imageSize: Int = 224, patchSize: Int = 16, embedDim: Int = 768, depth: Int = 12, numHeads: Int = 12,
                mlpRatio: Double = 4, numClasses: Int = 1000, inChannels: Int = 3) {
        self.imageSize = imageSize; self.patchSize = patchSize; self.embedDim = embedDim; self.depth = depth
        self.numHeads = numHeads; self.mlpRatio = mlpRatio; self.numClasses = numClasses; self.inChannels = inChannels
    }

    /// Tokens per side, `img_size / patch_size`.
    public var gridSize: Int { imageSize / patchSize }
    /// Patch tokens plus the class token.
    public var tokenCount: Int { gridSize * gridSize + 1 }
    public var headDim: Int { embedDim / numHeads }
    /// MLP hidden width, `int(embed_dim * mlp_ratio)`.
    public var hiddenDim: Int { Int(Double(embedDim) * mlpRatio) }

    init(args: [String: Any]) throws {
        let r = ArgumentReader(args: args)
        try r.rejectUnknown(["img_size", "patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "num_classes",
                             "in_chans", "qkv_bias", "class_token", "global_pool", "reg_tokens", "no_embed_class",
                             "fc_norm", "pre_norm", "qk_norm", "init_values", "dynamic_img_size", "drop_rate",
                             "attn_drop_rate", "drop_path_rate", "proj_drop_rate", "pos_drop_rate", "patch_drop_rate",
                             "final_norm", "act_layer", "weight_init"], family: "vision_transformer")
        imageSize = try r.int("img_size", default: 224)
        patchSize = try r.int("patch_size", default: 16)
        embedDim = try r.int("embed_dim", default: 768)
        depth = try r.int("depth", default: 12)
        numHeads = try r.int("num_heads", default: 12)
        mlpRatio = try r.double("mlp_ratio", default: 4)
        numClasses = try r.int("num_classes", default: 1000)
        inChannels = try r.int("in_chans", default: 3)
        try r.require("qkv_bias", in: ["true", "1"], reason: "the qkv projection must have a bias")
        try r.require("class_token", in: ["true", "1"], reason: "models without a class token are not supported")
        try r.require("global_pool", in: ["token"], reason: "only class-token pooling is supported")
        try r.require("reg_tokens", in: ["0"], reason: "register tokens are not supported")
        try r.require("no_embed_class", in: ["false", "0"], reason: "the position embedding must cover the class token")
        try r.require("fc_norm", in: ["false", "0", "null"], reason: "fc_norm is not supported")
        try r.require("pre_norm", in: ["false", "0"], reason: "pre-norm (norm_pre) is not supported")
        try r.require("qk_norm", in: ["false", "0"], reason: "q/k normalisation is not supported")
        try r.require("init_values", in: ["null"], reason: "layer scale (ls1/ls2) is not supported")
        try r.require("dynamic_img_size", in: ["false", "0"], reason: "dynamic image sizes are not supported")
        try r.require("final_norm", in: ["true", "1"], reason: "the final LayerNorm is required")
        try r.require("act_layer", in: ["gelu"], reason: "only exact GELU is supported")
        guard imageSize > 0, patchSize > 0, imageSize % patchSize == 0 else {
            throw ModelConfigurationError.invalidArgument(
                name: "img_size", reason: "\(imageSize) is not a multiple of patch_size \(patchSize)")
        }
        guard embedDim > 0, numHeads > 0, embedDim % numHeads == 0 else {
            throw ModelConfigurationError.invalidArgument(
                name: "embed_dim", reason: "\(embedDim) is not divisible by num_heads \(numHeads)")
        }
        guard depth > 0, mlpRatio > 0 else {
            throw ModelConfigurationError.invalidArgument(name: "depth/mlp_ratio", reason: "must be positive")
        }
    }

    var arguments: [String: Any] {
        ["img_size": imageSize, "patch_size": patchSize, "embed_dim": embedDim, "depth": depth, "num_heads": numHeads,
         "mlp_ratio": mlpRatio, "num_classes": numClasses, "in_chans": inChannels]
    }
}

/// Zennit 0.5.1's standard LRP composites (`zennit.composites`), with its
/// defaults (`epsilon` 1e-6 for Linear, `stabilizer` 1e-6 elsewhere,
/// `gamma` 0.25), over the layer kinds they map:
///
/// | composite | Conv2d | first Conv2d | Linear |
/// |---|---|---|---|
/// | `epsilonPlus` | z+ | z+ | epsilon |
/// | `epsilonPlusFlat` | z+ | flat | epsilon |
/// | `epsilonAlpha2Beta1` | alpha 2 beta 1 | alpha 2 beta 1 | epsilon |
/// | `epsilonAlpha2Beta1Flat` | alpha 2 beta 1 | flat | epsilon |
/// | `epsilonGammaBox` | gamma | z-box | epsilon |
///
/// and Zennit's `layer_map_base` before them: activations pass, average
/// pools take `Norm` (the epsilon rule with the stabiliser), BatchNorm
/// passes. Everything else takes the gradient (max pools, dropouts,
/// identities, flatten, and what timm computes with tensor operations or
/// functions rather than modules: additions such as the residual
/// `x + shortcut`, not a Zennit `Sum` module, and ConvMlp's
/// `F.adaptive_avg_pool2d`, `AdaptiveAvgPool2d.isFunctionalInTimm`). The models
/// run canonized by `SequentialBatchNormMerge` (`canonizers`).
public enum ZennitComposites {
    /// Zennit's `layer_map_base(stabilizer)`.
    static func base(stabilizer: Float) -> [(kind: LayerKind, rule: any RelevanceRule)] {
        [(.activation, PassRule()), (averagePoolModule, EpsilonRule(epsilon: stabilizer)), (.batchNorm, PassRule())]
    }

    /// The average pools that are modules in timm (Zennit's `AvgPool` as it
    /// meets them).
    static let averagePoolModule = LayerKind("average pool module") { operation in
        LayerKind.averagePool.matches(operation) && (operation as? AdaptiveAvgPool2d)?.isFunctionalInTimm != true
    }

    /// `layer_map_base`, `convolution` on Conv2d, epsilon on Linear, and
    /// `first` on the first Conv2d when given.
    static func composite(convolution: any RelevanceRule, first: (any RelevanceRule)?, epsilon: Float,
                          stabilizer: Float) -> any Composite {
        let layers = LayerMapComposite(base(stabilizer: stabilizer)
                                       + [(.convolution, convolution), (.dense, EpsilonRule(epsilon: epsilon))])
        guard let first else { return layers }
        return SpecialFirstLayerMapComposite(layers, firstMap: [(.convolution, first)])
    }

    /// The canonizers Zennit's composites are used with on these models.
    public static let canonizers: [any Canonizer] = [SequentialBatchNormMerge()]

    public static func epsilonPlus(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: ZPlusRule(stabilizer: stabilizer), first: nil, epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonPlusFlat(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: ZPlusRule(stabilizer: stabilizer), first: FlatRule(stabilizer: stabilizer),
                  epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonAlpha2Beta1(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: AlphaBetaRule(alpha: 2, beta: 1, stabilizer: stabilizer), first: nil,
                  epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonAlpha2Beta1Flat(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: AlphaBetaRule(alpha: 2, beta: 1, stabilizer: stabilizer),
                  first: FlatRule(stabilizer: stabilizer), epsilon: epsilon, stabilizer: stabilizer)
    }

    /// `low`/`high`: the box of the inputs per channel (`ZBoxRule`).
    public static func epsilonGammaBox(low: [Float], high: [Float], epsilon: Float = 1e-6, gamma: Float = 0.25,
                                       stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: GammaRule(gamma: gamma, stabilizer: stabilizer),
                  first: ZBoxRule(low: low, high: high, stabilizer: stabilizer), epsilon: epsilon, stabilizer: stabilizer)
    }
}

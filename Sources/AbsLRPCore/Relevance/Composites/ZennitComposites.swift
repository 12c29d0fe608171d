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

    /// The composites' names, Zennit's class names in kebab case
    /// (`EpsilonPlus` is `epsilon-plus`).
    public static let names = ["epsilon-plus", "epsilon-plus-flat", "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat",
                               "epsilon-gamma-box"]

    /// The composite `name` (one of `names`) for `classifier`, a VGG or a
    /// ResNet, with `epsilon` and `gamma`; z-box's bounds are the model's
    /// input range `[0, 1]` through its normalisation, `(0 - mean) / std`
    /// and `(1 - mean) / std`.
    /// - Throws: `RelevancyMethodError` for another architecture, an invalid
    ///   epsilon or gamma, an unknown name, z-box bounds that are no box
    ///   (statistics whose bounds round to equal or overflow).
    public static func composite(named name: String, for classifier: Classifier, epsilon: Float = 1e-6,
                                 gamma: Float = 0.25) throws -> any Composite {
        let architecture = classifier.configuration.architecture
        guard architecture.kind == .convolutional else {
            throw RelevancyMethodError.notApplicable(method: name, architecture: architecture.familyName,
                                                     reason: "Zennit's standard composites map convolutional networks")
        }
        guard epsilon >= 0, epsilon.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "epsilon", reason: "need a finite value >= 0, got \(epsilon)")
        }
        guard gamma >= 0, gamma.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "gamma", reason: "need a finite value >= 0, got \(gamma)")
        }
        switch name {
        case "epsilon-plus": return epsilonPlus(epsilon: epsilon)
        case "epsilon-plus-flat": return epsilonPlusFlat(epsilon: epsilon)
        case "epsilon-alpha2-beta1": return epsilonAlpha2Beta1(epsilon: epsilon)
        case "epsilon-alpha2-beta1-flat": return epsilonAlpha2Beta1Flat(epsilon: epsilon)
        case "epsilon-gamma-box":
            let p = classifier.configuration.displayPreprocessing  // the statistics (or their defaults)
            do {
                return try epsilonGammaBox(low: zip(p.mean, p.std).map { (0 - $0) / $1 },
                                           high: zip(p.mean, p.std).map { (1 - $0) / $1 }, epsilon: epsilon, gamma: gamma)
            } catch RelevancyMethodError.invalidOption(let option, let reason) {
                throw RelevancyMethodError.invalidOption(
                    name: option, reason: "\(reason) (the input range [0, 1] through the model's mean \(p.mean) and std \(p.std))")
            }
        default: throw RelevancyMethodError.unknownComposite(name, known: names)
        }
    }

    public static func epsilonPlus(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: ZPlusRule(stabilizer: stabilizer), first: nil, epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonPlusFlat(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: ZPlusRule(stabilizer: stabilizer), first: FlatRule(stabilizer: stabilizer),
                  epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonAlpha2Beta1(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: AlphaBetaRule.alpha2Beta1(stabilizer: stabilizer), first: nil,
                  epsilon: epsilon, stabilizer: stabilizer)
    }

    public static func epsilonAlpha2Beta1Flat(epsilon: Float = 1e-6, stabilizer: Float = 1e-6) -> any Composite {
        composite(convolution: AlphaBetaRule.alpha2Beta1(stabilizer: stabilizer),
                  first: FlatRule(stabilizer: stabilizer), epsilon: epsilon, stabilizer: stabilizer)
    }

    /// `low`/`high`: the box of the inputs per channel (`ZBoxRule`).
    /// - Throws: what ``ZBoxRule/init(low:high:stabilizer:)`` throws for bad bounds.
    public static func epsilonGammaBox(low: [Float], high: [Float], epsilon: Float = 1e-6, gamma: Float = 0.25,
                                       stabilizer: Float = 1e-6) throws -> any Composite {
        composite(convolution: GammaRule(gamma: gamma, stabilizer: stabilizer),
                  first: try ZBoxRule(low: low, high: high, stabilizer: stabilizer), epsilon: epsilon, stabilizer: stabilizer)
    }
}

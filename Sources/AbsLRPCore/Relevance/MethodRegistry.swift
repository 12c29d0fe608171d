/// Relevancy methods by the names users type.
///
/// | name | method | models |
/// |---|---|---|
/// | `abslrp` | ``AbsLRP`` (its composite by `abslrpComposite`; then named `abslrp:COMPOSITE`) | all |
/// | `gradient` | ``Saliency`` | all |
/// | `input-x-gradient` | ``InputXGradient`` | all |
/// | `smoothgrad` | ``SmoothGrad`` | all |
/// | `integrated-gradients` | ``IntegratedGradients`` | all |
/// | `gradcam` | ``GradCAM`` | VGG, ResNet |
/// | `lrp-epsilon` | ``LayerwiseRelevance/epsilon(classifier:epsilon:)`` | all |
/// | `lrp-zplus` | ``LayerwiseRelevance/zPlus(classifier:)`` | all |
/// | `lrp-epsilon-plus`, `lrp-epsilon-plus-flat`, `lrp-epsilon-alpha2-beta1`, `lrp-epsilon-alpha2-beta1-flat`, `lrp-epsilon-gamma-box` | ``LayerwiseRelevance/zennit(_:classifier:epsilon:gamma:)`` (Zennit 0.5.1's composites) | VGG, ResNet |
/// | `attention-rollout` | ``AttentionRollout`` | ViT |
/// | `transformer-attribution` | ``TransformerAttribution`` | ViT |
/// | `random` | ``RandomRelevance`` | all |
public enum RelevancyMethods {
    /// Every method name, in the order reports list them.
    public static let names = ["abslrp", "gradient", "input-x-gradient", "smoothgrad", "integrated-gradients", "gradcam",
                               "lrp-epsilon", "lrp-zplus"] + LayerwiseRelevance.zennitMethodNames
        + ["attention-rollout", "transformer-attribution", "random"]

    /// The method `name` for `classifier`, with `options` for those that take
    /// any; unknown names, methods that do not apply to the architecture and
    /// invalid options are errors that say so.
    public static func make(_ name: String, classifier: Classifier,
                            options: RelevancyMethodOptions = RelevancyMethodOptions()) throws -> RelevancyMethod {
        let o = options
        switch name {
        case "abslrp":
            guard let name = o.abslrpComposite else { return AbsLRP(classifier: classifier) }
            let (composite, canonizers) = try NamedComposites.make(name, for: classifier, epsilon: o.lrpEpsilon, gamma: o.lrpGamma)
            return try AbsLRP(classifier: classifier, composite: composite, canonizers: canonizers, name: "abslrp:\(name)")
        case "gradient": return Saliency(classifier: classifier)
        case "input-x-gradient": return InputXGradient(classifier: classifier)
        case "smoothgrad":
            return try SmoothGrad(classifier: classifier, samples: o.smoothGradSamples, noiseLevel: o.smoothGradNoiseLevel,
                                  seed: o.seed, chunkSize: o.chunkSize)
        case "integrated-gradients":
            return try IntegratedGradients(classifier: classifier, steps: o.integratedGradientsSteps, chunkSize: o.chunkSize)
        case "gradcam": return try GradCAM(classifier: classifier)
        case "lrp-epsilon": return try LayerwiseRelevance.epsilon(classifier: classifier, epsilon: o.lrpEpsilon)
        case "lrp-zplus": return try LayerwiseRelevance.zPlus(classifier: classifier)
        case _ where LayerwiseRelevance.zennitMethodNames.contains(name):
            return try LayerwiseRelevance.zennit(name, classifier: classifier, epsilon: o.lrpEpsilon, gamma: o.lrpGamma)
        case "attention-rollout": return try AttentionRollout(classifier: classifier)
        case "transformer-attribution": return try TransformerAttribution(classifier: classifier)
        case "random": return RandomRelevance(classifier: classifier, seed: o.seed)
        default: throw RelevancyMethodError.unknownMethod(name, known: names)
        }
    }

    /// The names of `names` whose methods apply to `classifier`'s architecture.
    public static func applicable(_ names: [String] = names, to classifier: Classifier) -> [String] {
        names.filter { name in
            do {
                _ = try make(name, classifier: classifier)
                return true
            } catch RelevancyMethodError.notApplicable {
                return false
            } catch {
                return true  // other errors (unknown names) are make's to report
            }
        }
    }
}

/// A method that cannot be used as asked.
public enum RelevancyMethodError: Error, CustomStringConvertible, Equatable {
    case unknownMethod(String, known: [String])
    case unknownComposite(String, known: [String])
    case notApplicable(method: String, architecture: String, reason: String)
    case invalidOption(name: String, reason: String)

    public var description: String {
        switch self {
        case .unknownMethod(let name, let known):
            return "unknown method '\(name)'; available: \(known.joined(separator: ", "))"
        case .unknownComposite(let name, let known):
            return "unknown composite '\(name)'; available: \(known.joined(separator: ", "))"
        case .notApplicable(let method, let architecture, let reason):
            return "method '\(method)' does not apply to \(architecture) models: \(reason)"
        case .invalidOption(let name, let reason):
            return "invalid \(name): \(reason)"
        }
    }
}

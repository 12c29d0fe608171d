import ArgumentParser
import AbsLRPCore

/// The settings of the relevancy methods that take any, shared by `explain`,
/// `evaluate` and `check` (defaults and reasons: `RelevancyMethodOptions`).
/// `--seed` also seeds the command's own randomness (GAE's shuffle and
/// positive draws, `check`'s random weights).
struct MethodOptions: ParsableArguments {
    @Option(name: .customLong("smoothgrad-samples"), help: "SmoothGrad: noisy copies per image.")
    var smoothGradSamples = RelevancyMethodOptions().smoothGradSamples

    @Option(name: .customLong("smoothgrad-noise"), help: "SmoothGrad: noise level, a fraction of each image's value range.")
    var smoothGradNoise = RelevancyMethodOptions().smoothGradNoiseLevel

    @Option(name: .customLong("ig-steps"), help: "Integrated gradients: trapezoid points from the zero baseline.")
    var integratedGradientsSteps = RelevancyMethodOptions().integratedGradientsSteps

    @Option(name: .long, help: "LRP-epsilon's epsilon (lrp-epsilon and the Linear layers of Zennit's composites).")
    var epsilon = RelevancyMethodOptions().lrpEpsilon

    @Option(name: .long, help: "LRP-gamma's gamma (lrp-epsilon-gamma-box).")
    var gamma = RelevancyMethodOptions().lrpGamma

    @Option(name: .long, help: "Seed of SmoothGrad's noise, the random method and the command's own draws.")
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp(
        "The rules of the abslrp method (then named abslrp:NAME): a model family's absLRP composite or one of "
            + "Zennit's (with BatchNorm merged). Default: the model family's.", valueName: "name"))
    var composite: CompositeName?

    func validate() throws {
        let most = RelevancyMethodOptions.maximumCopies
        guard (1...most).contains(smoothGradSamples) else {
            throw ValidationError("--smoothgrad-samples must be between 1 and \(most), got \(smoothGradSamples)")
        }
        guard smoothGradNoise >= 0, smoothGradNoise.isFinite else {
            throw ValidationError("--smoothgrad-noise must be a finite value >= 0, got \(smoothGradNoise)")
        }
        guard (2...most).contains(integratedGradientsSteps) else {
            throw ValidationError("--ig-steps must be between 2 and \(most), got \(integratedGradientsSteps)")
        }
        guard epsilon >= 0, epsilon.isFinite else { throw ValidationError("--epsilon must be a finite value >= 0, got \(epsilon)") }
        guard gamma >= 0, gamma.isFinite else { throw ValidationError("--gamma must be a finite value >= 0, got \(gamma)") }
    }

    /// The options as the method registry takes them.
    var relevancyMethodOptions: RelevancyMethodOptions {
        RelevancyMethodOptions(smoothGradSamples: smoothGradSamples, smoothGradNoiseLevel: smoothGradNoise,
                               integratedGradientsSteps: integratedGradientsSteps, lrpEpsilon: epsilon, lrpGamma: gamma,
                               seed: seed, abslrpComposite: composite?.name)
    }
}

/// Settings of the baseline methods that have any, with Captum/Zennit-like
/// defaults:
///
/// | option | default | used by | why |
/// |---|---|---|---|
/// | `smoothGradSamples` | 25 | smoothgrad | Smilkov et al. see little change past ~20-50 samples |
/// | `smoothGradNoiseLevel` | 0.15 | smoothgrad | the paper's recommended 10-20% of the input range |
/// | `integratedGradientsSteps` | 32 | integrated-gradients | trapezoid points (Captum's default is 50 Gauss-Legendre points); raise it when completeness matters |
/// | `lrpEpsilon` | 1e-6 | lrp-epsilon, Zennit's composites | Zennit's `Epsilon` default (a stabiliser) |
/// | `lrpGamma` | 0.25 | lrp-epsilon-gamma-box | Zennit's `Gamma` default |
/// | `seed` | 0 | smoothgrad, random | reproducible noise |
/// | `abslrpComposite` | nil | abslrp | absLRP's rules by composite name (``NamedComposites``); nil: the model family's |
/// | `chunkSize` | 16 | smoothgrad, integrated-gradients | model rows per forward/backward pass |
///
/// SmoothGrad's samples and integrated gradients' steps are at most
/// ``maximumCopies`` (each is one gradient pass per image).
public struct RelevancyMethodOptions: Sendable, Equatable {
    /// The most noisy copies (SmoothGrad) or path points (integrated
    /// gradients) per image: 10,000 gradient passes per image already take
    /// hours on ViT-B, and more would overflow the row count of a batch.
    public static let maximumCopies = 10_000
    public var smoothGradSamples: Int
    public var smoothGradNoiseLevel: Float
    public var integratedGradientsSteps: Int
    public var lrpEpsilon: Float
    public var lrpGamma: Float
    public var seed: UInt64
    public var chunkSize: Int
    public var abslrpComposite: String?

    public init(smoothGradSamples: Int = 25, smoothGradNoiseLevel: Float = 0.15, integratedGradientsSteps: Int = 32,
                lrpEpsilon: Float = 1e-6, lrpGamma: Float = 0.25, seed: UInt64 = 0, chunkSize: Int = 16,
                abslrpComposite: String? = nil) {
        self.smoothGradSamples = smoothGradSamples; self.smoothGradNoiseLevel = smoothGradNoiseLevel
        self.integratedGradientsSteps = integratedGradientsSteps; self.lrpEpsilon = lrpEpsilon; self.lrpGamma = lrpGamma
        self.seed = seed; self.chunkSize = chunkSize; self.abslrpComposite = abslrpComposite
    }
}

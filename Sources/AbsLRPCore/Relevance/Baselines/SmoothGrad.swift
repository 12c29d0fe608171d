/// SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding
/// noise"), over the saliency map as Captum's `NoiseTunnel(Saliency)` with
/// `nt_type="smoothgrad"`: the mean saliency of `n` noisy copies of each image,
///
///     attribution(x_b) = 1/n * sum_{s<n} |∂ f_t / ∂ x (x_b + e_s)|,
///     e_s ~ N(0, sigma_b^2),  sigma_b = noiseLevel * (max(x_b) - min(x_b))
///
/// (the paper's noise level: a fraction of the input's range; they recommend
/// 10-20%). The noise is drawn from `SplitMix64(seed)` afresh at each call,
/// in row order (copy, image), so a map is a function of the batch and the
/// seed. The images themselves and their `n * B` noisy copies go through the
/// model `chunkSize` rows at a time, the images first: their recorded forward
/// gives the explanation's logits (`derivedInputGradients`).
public final class SmoothGrad: AttributionMethod {
    public let name = "smoothgrad"
    public let classifier: Classifier
    /// Noisy copies per image (`n`).
    public let samples: Int
    /// Noise standard deviation as a fraction of each image's value range.
    public let noiseLevel: Float
    public let seed: UInt64
    /// Model rows per forward and gradient pass.
    public let chunkSize: Int

    public init(classifier: Classifier, samples: Int, noiseLevel: Float, seed: UInt64, chunkSize: Int) throws {
        guard (1...RelevancyMethodOptions.maximumCopies).contains(samples) else {
            throw RelevancyMethodError.invalidOption(
                name: "samples", reason: "need 1 to \(RelevancyMethodOptions.maximumCopies), got \(samples)")
        }
        guard noiseLevel >= 0, noiseLevel.isFinite else {
            throw RelevancyMethodError.invalidOption(name: "noise level", reason: "need a finite value >= 0, got \(noiseLevel)")
        }
        guard chunkSize > 0 else { throw RelevancyMethodError.invalidOption(name: "chunk size", reason: "need at least 1, got \(chunkSize)") }
        self.classifier = classifier
        self.samples = samples; self.noiseLevel = noiseLevel; self.seed = seed; self.chunkSize = chunkSize
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let n = x.sampleCount
        let sigma = (0..<x.shape[0]).map { b -> Float in
            let image = x.storage[(b * n)..<((b + 1) * n)]
            return noiseLevel * ((image.max() ?? 0) - (image.min() ?? 0))
        }
        var rng = SplitMix64(seed: seed)
        var mean = Tensor(shape: x.shape)
        let weight = 1 / Float(samples)
        // copy 0 is the image itself (its forward gives the logits); copies 1...n are the noisy ones
        let (logits, t) = try derivedInputGradients(of: x, targets: targets, copies: samples + 1, chunkSize: chunkSize,
                                                    derive: { _, b, image in
            image.map { $0 + sigma[b] * rng.nextNormal() }
        }, use: { copy, b, gradient in
            guard copy > 0 else { return }
            for (i, g) in zip((b * n)..<((b + 1) * n), gradient) { mean.storage[i] += weight * abs(g) }
        })
        return Attribution(logits: logits, targets: t, map: mean)
    }
}

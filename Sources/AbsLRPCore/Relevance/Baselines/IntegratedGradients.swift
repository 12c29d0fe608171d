/// Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic
/// Attribution for Deep Networks") from the zero baseline, the path
/// integral approximated by the trapezoidal rule on `m` evenly spaced points
/// (Captum's `method="riemann_trapezoid"` with `n_steps = m`):
///
///     alpha_k = k / (m - 1),  k = 0..m-1
///     w_k     = 1 / (m - 1), halved for k = 0 and k = m-1
///     attribution(x) = x * sum_k w_k * ∂ f_t / ∂ x (alpha_k x)      (B, C, H, W)
///
/// Completeness: `sum(attribution) ≈ f_t(x) - f_t(0)`, exact as m grows
/// (the trapezoid error is O(1/m^2) where f is smooth along the path). The
/// `m * B` scaled inputs go through the model `chunkSize` rows at a time,
/// the inputs themselves (`alpha = 1`) first: their recorded forward gives
/// the explanation's logits (`derivedInputGradients`).
public final class IntegratedGradients: AttributionMethod {
    public let name = "integrated-gradients"
    public let classifier: Classifier
    /// Points on the path from the baseline to the input (`m`, at least 2).
    public let steps: Int
    /// Model rows per forward and gradient pass.
    public let chunkSize: Int

    public init(classifier: Classifier, steps: Int, chunkSize: Int) throws {
        guard (2...RelevancyMethodOptions.maximumCopies).contains(steps) else {
            throw RelevancyMethodError.invalidOption(
                name: "steps", reason: "need 2 to \(RelevancyMethodOptions.maximumCopies), got \(steps)")
        }
        guard chunkSize > 0 else { throw RelevancyMethodError.invalidOption(name: "chunk size", reason: "need at least 1, got \(chunkSize)") }
        self.classifier = classifier
        self.steps = steps; self.chunkSize = chunkSize
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let n = x.sampleCount, steps = self.steps, intervals = Float(steps - 1)
        // copy c is path point k = c - 1, copy 0 the input itself (k = m - 1), whose forward gives the logits
        let point = { (copy: Int) in copy == 0 ? steps - 1 : copy - 1 }
        let alpha = (0..<steps).map { Float($0) / intervals }
        let weight = (0..<steps).map { k in (k == 0 || k == steps - 1 ? 0.5 : 1) / intervals }
        var integral = Tensor(shape: x.shape)
        let (logits, t) = try derivedInputGradients(of: x, targets: targets, copies: steps, chunkSize: chunkSize,
                                                    derive: { copy, _, image in
            image.map { alpha[point(copy)] * $0 }
        }, use: { copy, b, gradient in
            for (i, g) in zip((b * n)..<((b + 1) * n), gradient) { integral.storage[i] += weight[point(copy)] * g }
        })
        return Attribution(logits: logits, targets: t, map: x * integral)
    }
}

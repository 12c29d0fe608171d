/// Generalised LRP-gamma (Montavon et al. 2019; Andéol et al. 2021;
/// Zennit's `Gamma`), for `y = W x + b` (Conv2d, Linear): contributions of
/// the output's own sign are strengthened by `gamma`. With
/// `W_+ = W + gamma W^+`, `W_- = W + gamma W^-`:
///
///     z^+ = W_+ x^+ + W_- x^- + b + gamma b^+     (for outputs y > 0)
///     z^- = W_- x^+ + W_+ x^- + b + gamma b^-     (for outputs y < 0)
///     s^+ = [y > 0] R / stab(z^+),   s^- = [y < 0] R / stab(z^-)
///     R_i = x^+ (W_+^T s^+ + W_-^T s^-) + x^- (W_-^T s^+ + W_+^T s^-)
///
/// with `stab(z) = z + eps sign z` and `y = W x + b` the recorded output.
public struct GammaRule: RelevanceRule {
    public var gamma, stabilizer: Float

    public init(gamma: Float = 0.25, stabilizer: Float = 1e-6) {
        self.gamma = gamma; self.stabilizer = stabilizer
    }

    public func refusal(at operation: Operation) -> String? { operation.affineRefusal(rule: "gamma") }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "gamma")
        let (bias, gamma) = (layer.biasValues, gamma)
        let positive = signSplitTerms(record, positive: .gammaPositive(gamma), negative: .gammaNegative(gamma))
        let negative = signSplitTerms(record, positive: .gammaNegative(gamma), negative: .gammaPositive(gamma))
        let zp = layer.modifiedOutput(positive, bias: bias.map { $0 + gamma * max($0, 0) })
        let zn = layer.modifiedOutput(negative, bias: bias.map { $0 + gamma * min($0, 0) })
        let y = record.output
        let sp = stabilizedRatio(r.zipMap(y) { rv, yv in yv > 0 ? rv : 0 }, zp, epsilon: stabilizer)
        let sn = stabilizedRatio(r.zipMap(y) { rv, yv in yv < 0 ? rv : 0 }, zn, epsilon: stabilizer)
        return [layer.modifiedRelevance(sp, positive) + layer.modifiedRelevance(sn, negative)]
    }
}

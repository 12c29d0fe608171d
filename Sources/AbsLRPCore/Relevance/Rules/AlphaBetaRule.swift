/// LRP-alpha-beta (Bach et al. 2015; Zennit's `AlphaBeta`), for
/// `y = W x + b` (Conv2d, Linear): positive and negative contributions are
/// normalised apart and weighted by `alpha` and `beta` (`alpha - beta = 1`,
/// both >= 0; `alpha 2, beta 1` in Zennit's composites):
///
///     z^+_j = sum_i (x_i^+ w_ij^+ + x_i^- w_ij^-) + b_j^+
///     z^-_j = sum_i (x_i^+ w_ij^- + x_i^- w_ij^+) + b_j^-
///     R_i   = alpha sum_j (x_i^+ w_ij^+ + x_i^- w_ij^-) R_j / stab(z^+_j)
///           - beta  sum_j (x_i^+ w_ij^- + x_i^- w_ij^+) R_j / stab(z^-_j)
///
/// with `stab(z) = z + eps sign z`.
public struct AlphaBetaRule: RelevanceRule {
    public let alpha, beta, stabilizer: Float

    /// - Throws: ``RelevancyMethodError/invalidOption(name:reason:)`` unless
    ///   `alpha` and `beta` are finite, both >= 0 and `alpha - beta == 1`
    ///   (as Zennit checks them).
    public init(alpha: Float = 2, beta: Float = 1, stabilizer: Float = 1e-6) throws {
        guard alpha.isFinite, beta.isFinite, alpha >= 0, beta >= 0, alpha - beta == 1 else {
            throw RelevancyMethodError.invalidOption(
                name: "alpha and beta", reason: "alpha-beta needs alpha - beta = 1 with both finite and >= 0, got alpha \(alpha), beta \(beta)")
        }
        self.init(valid: alpha, beta, stabilizer)
    }

    /// Alpha 2, beta 1 (Zennit's composites').
    public static func alpha2Beta1(stabilizer: Float = 1e-6) -> AlphaBetaRule { AlphaBetaRule(valid: 2, 1, stabilizer) }

    private init(valid alpha: Float, _ beta: Float, _ stabilizer: Float) {
        self.alpha = alpha; self.beta = beta; self.stabilizer = stabilizer
    }

    public func refusal(at operation: Operation) -> String? { operation.affineRefusal(rule: "alpha-beta") }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "alpha-beta")
        let bias = layer.biasValues
        let positive = signSplitTerms(record, positive: .positive, negative: .negative)
        let negative = signSplitTerms(record, positive: .negative, negative: .positive)
        let zp = layer.modifiedOutput(positive, bias: bias.map { max($0, 0) })
        let zn = layer.modifiedOutput(negative, bias: bias.map { min($0, 0) })
        let rp = layer.modifiedRelevance(stabilizedRatio(r, zp, epsilon: stabilizer), positive)
        let rn = layer.modifiedRelevance(stabilizedRatio(r, zn, epsilon: stabilizer), negative)
        return [rp * alpha - rn * beta]
    }
}

import AbsLRPCore

/// The five scores of one positive image under one relevancy method.
public struct GAEScores: Equatable, Sendable {
    /// `sum(cim * R0) / (sum R0 + eps)`: how much of the explanation lies
    /// where masking shows the input matters (cim = +1) rather than not (-1).
    public var faithfulness: Float
    /// `1 - 2 * dice(d_rel, d_out)`: whether the explanation changes under
    /// masking as the model output does.
    public var robustness: Float
    /// `relu(faithfulness + robustness) / 2`.
    public var localConsistency: Float
    /// `relu(sum(score * Rmos) / (sum Rmos + eps))`: relevance on the mosaic
    /// tiles of the explained class (score near 1) rather than of other
    /// classes (score near -1). Unbounded above: a tile scores
    /// `2 p(tile label) / p(positive label) - 1` (the positive's softmax), up
    /// to `2 / p(positive label) - 1`, large when the positive is misclassified.
    public var contrastiveness: Float
    /// `localConsistency * contrastiveness`.
    public var gae: Float
}

/// The per-method arithmetic of spec section 6, steps 6 and 8. Every
/// function works per sample (batch axis first); sums are accumulated in
/// `Double` and results stored in float32.
enum Scoring {
    /// `eps` of every quotient.
    static let epsilon: Float = 1e-9

    /// What the evaluation hands to a method: `normalize_max(relu(R))`.
    static func positiveRelevance(_ method: RelevancyMethod, _ x: Tensor, targets: [Int]) throws -> Tensor {
        positivePart(try method.finiteRelevance(x, targets: targets))
    }

    /// `normalize_max(relu(relevance))`.
    static func positivePart(_ relevance: Tensor) -> Tensor {
        relevance.map { $0 > 0 ? $0 : 0 }.normalizedMax()
    }

    /// Combined impact map `sign(normalize_max(normalize_sum(sum_k r^LeRF_k)
    /// - normalize_sum(sum_k r^MoRF_k)))` from the two sums of the orders'
    /// maps (``MaskingTrajectory/mapSum``): +1 where removing the least
    /// relevant entries first still left relevance, -1 where MoRF found it.
    static func combinedImpactMap(morfSum: Tensor, lerfSum: Tensor) -> Tensor {
        (lerfSum.normalizedSum() - morfSum.normalizedSum()).normalizedMax().map(signum)
    }

    /// `sum|a - b| / (sum|a| + sum|b| + eps)` per sample (the reference's `_dice_loss`).
    static func dice(_ a: Tensor, _ b: Tensor) -> [Float] {
        perSample(a, b) { x, y in
            var difference = 0.0, total = 0.0
            for i in x.indices {
                difference += Double(abs(x[i] - y[i]))
                total += Double(abs(x[i])) + Double(abs(y[i]))
            }
            return Float(difference) / (Float(total) + epsilon)
        }
    }

    /// `sum(mask * relevance) / (sum relevance + eps)` per sample (`_calculate_mask_overlap`).
    static func overlap(relevance: Tensor, mask: Tensor) -> [Float] {
        perSample(relevance, mask) { r, m in
            var inside = 0.0, total = 0.0
            for i in r.indices {
                inside += Double(m[i] * r[i])
                total += Double(r[i])
            }
            return Float(inside) / (Float(total) + epsilon)
        }
    }

    /// The scores of `M` positives from their relevance maps.
    ///
    /// - Parameters:
    ///   - initial: `R0 = rel(xp)`, (M, C, H, W).
    ///   - mosaic: `Rmos = rel(mosaics)` for the positives' classes, (M, C, 2h, 2w).
    ///   - morf, lerf: `rel(xm_k)` of steps `k = 1 ..< steps` of each order.
    ///   - morfOutputs, lerfOutputs: `o[y]` per step (`[step][image]`).
    ///   - impactMap: ``combinedImpactMap(morfSum:lerfSum:)``; scoreMosaic: the score mosaics.
    static func scores(initial: Tensor, mosaic: Tensor, morf: [Tensor], lerf: [Tensor],
                       morfOutputs: [[Float]], lerfOutputs: [[Float]], impactMap: Tensor,
                       scoreMosaic: Tensor) -> [GAEScores] {
        let m = initial.shape[0], differences = morf.count
        // d_rel[b][k] = dice(R0, morf_k) - dice(R0, lerf_k); d_out[b][k] = (lerf_o_k - morf_o_k) / (o_0 + eps).
        var relevanceChange = Tensor(shape: [m, differences]), outputChange = Tensor(shape: [m, differences])
        for k in 0..<differences {
            let dm = dice(initial, morf[k]), dl = dice(initial, lerf[k])
            for b in 0..<m {
                let o0 = morfOutputs[0][b] + epsilon
                relevanceChange.storage[b * differences + k] = dm[b] - dl[b]
                outputChange.storage[b * differences + k] = lerfOutputs[k + 1][b] / o0 - morfOutputs[k + 1][b] / o0
            }
        }
        let faithfulness = overlap(relevance: initial, mask: impactMap)
        let disagreement = dice(relevanceChange, outputChange)
        let contrast = overlap(relevance: mosaic, mask: scoreMosaic)
        return (0..<m).map { b in
            let robustness = 1 - 2 * disagreement[b]
            let local = relu(faithfulness[b] + robustness) / 2
            let contrastiveness = relu(contrast[b])
            return GAEScores(faithfulness: faithfulness[b], robustness: robustness, localConsistency: local,
                             contrastiveness: contrastiveness, gae: local * contrastiveness)
        }
    }

    /// `max(x, 0)`, NaN staying NaN as `torch.relu` keeps it.
    private static func relu(_ x: Float) -> Float { x < 0 ? 0 : x }

    private static func perSample(_ a: Tensor, _ b: Tensor,
                                  _ f: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Float) -> [Float] {
        precondition(a.shape == b.shape, "shape \(a.shape) vs \(b.shape)")
        let n = a.sampleCount
        return a.storage.withUnsafeBufferPointer { x in
            b.storage.withUnsafeBufferPointer { y in
                (0..<a.shape[0]).map { s in
                    f(UnsafeBufferPointer(rebasing: x[(s * n)..<((s + 1) * n)]),
                      UnsafeBufferPointer(rebasing: y[(s * n)..<((s + 1) * n)]))
                }
            }
        }
    }
}

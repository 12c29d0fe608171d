import AbsLRPCore
import Foundation

/// How each mosaic is paired with its positive image, and which images its
/// tiles' contrastiveness scores refer to (spec section 6, steps 3 and 7).
///
/// With a batch of `B = 4M` images, tile `q` of mosaic `m` is batch image
/// `qM + m` (``Mosaic``), `o` are the batch's logits, `pred` their argmax,
/// `y` the data-set labels and `o_mosaic` the mosaics' logits.
///
/// - ``consistent`` (the default): mosaic `m` draws `q` in 0...3 with
///   probabilities `softmax_q(o_mosaic[m, pred[qM + m]])`; its positive is
///   its own tile `p_m = qM + m`. Tile `q'` of mosaic `m` scores
///   `2 * softmax(o[p_m])[y[q'M + m]] / softmax(o[p_m])[y[p_m]] - 1`, so the
///   score mosaic rewards relevance on the tiles that share the positive's
///   class, inside the mosaic that is explained for that class.
/// - ``reference``: the published implementation, which indexes the batch as
///   if mosaic `m` held images `4m ... 4m+3`: it draws `j` with probabilities
///   `softmax_j(o_mosaic[m, pred[4m + j]])`, takes batch image `p_m = 4m + j`
///   as the positive, and gives batch image `i` the score
///   `2 * s[i/4][i%4] / s[i/4][j_{i/4}] - 1` with
///   `s[r][c] = softmax(o[p_r])[y[4r + c]]`, placed on image `i`'s tile. For
///   `B > 4` the positive is generally not in the mosaic that is explained
///   for its class, and tiles are scored against another mosaic's positive.
///
/// The two agree when `B = 4` (one mosaic, `qM + m = 4m + q = q`).
public enum PositivePairing: String, Codable, Sendable, CaseIterable {
    case consistent
    case reference

    /// The draw probabilities of mosaic `mosaic` over its four candidates
    /// (a float32 softmax, as the reference's, widened to `Double`).
    func drawProbabilities(mosaic: Int, mosaics: Int, predictions: [Int], mosaicLogits: Tensor) -> [Double] {
        let k = mosaicLogits.shape[1]
        let candidates = (0..<4).map { candidate(mosaic: mosaic, draw: $0, mosaics: mosaics) }
        let logits = candidates.map { mosaicLogits.storage[mosaic * k + predictions[$0]] }
        return softmax(logits).map(Double.init)
    }

    /// The batch index of the positive image when mosaic `mosaic` draws `draw`.
    func candidate(mosaic: Int, draw: Int, mosaics: Int) -> Int {
        switch self {
        case .consistent: return Mosaic.tileSource(mosaic: mosaic, quadrant: draw, mosaics: mosaics)
        case .reference: return 4 * mosaic + draw
        }
    }

    /// The contrastiveness score of every tile: `scores[m][q]` for tile `q`
    /// of mosaic `m`, given each mosaic's positive (`positives[m]`, a batch
    /// index), the batch logits (B, K) and the data-set labels of the batch.
    ///
    /// Each quotient of two probabilities of one softmax is computed as
    /// `exp` of the logits' difference (``probabilityRatio``): the same
    /// number, but finite where both float32 probabilities underflow to 0
    /// (a positive confidently given a class none of the tiles has, whose
    /// own label's probability is below 1e-45: the reference gets 0 / 0).
    func tileScores(positives: [Int], logits: Tensor, labels: [Int]) -> [[Float]] {
        let mosaics = positives.count, k = logits.shape[1]
        let rows = positives.map { Array(logits.storage[($0 * k)..<(($0 + 1) * k)]) }
        switch self {
        case .consistent:
            return (0..<mosaics).map { m in
                (0..<4).map { q in
                    let tile = labels[Mosaic.tileSource(mosaic: m, quadrant: q, mosaics: mosaics)]
                    return 2 * probabilityRatio(rows[m], tile, labels[positives[m]]) - 1
                }
            }
        case .reference:
            // Image i's score uses positive i / 4, whose own entry is s[r][j_r] = s at y[p_r].
            let imageScore: (Int) -> Float = { i in
                2 * probabilityRatio(rows[i / 4], labels[i], labels[positives[i / 4]]) - 1
            }
            return (0..<mosaics).map { m in
                (0..<4).map { q in imageScore(Mosaic.tileSource(mosaic: m, quadrant: q, mosaics: mosaics)) }
            }
        }
    }
}

/// `softmax(logits)[a] / softmax(logits)[b]`, as `exp(logits[a] - logits[b])`.
func probabilityRatio(_ logits: [Float], _ a: Int, _ b: Int) -> Float {
    Foundation.exp(logits[a] - logits[b])
}

/// `exp(x - max x) / sum exp(x - max x)` in float32.
func softmax(_ x: [Float]) -> [Float] {
    let top = x.max() ?? 0
    let e = x.map { Foundation.exp($0 - top) }
    let total = e.reduce(0, +)
    return e.map { $0 / total }
}

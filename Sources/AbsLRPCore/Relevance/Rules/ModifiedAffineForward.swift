/// The machinery of the LRP rules that run modified forwards of an affine
/// layer `y = W x + b` (z+, alpha-beta, gamma, z-box, flat, w-square), as
/// Zennit's `BasicHook` does: each rule is a list of terms `(x_k, M_k)` (a
/// modified input, a matrix derived from `W`), a modified bias `b'`, and
///
///     z   = sum_k M_k x_k + b'
///     R_i = sum_k x_k,i (M_k^T s)_i,       s = R / (z + eps sign z)
///
/// (the gradient of `sum_k <s, M_k x_k>` with respect to each `x_k`, times
/// `x_k`). The products are the layer's own (`forwardProduct`,
/// `backwardProducts`) with the derived matrices of `WeightMatrices`.
struct AffineTerm {
    /// The modified input `x_k` (the input's shape).
    var input: Tensor
    /// `M_k`.
    var matrix: WeightMatrix
}

extension AffineLayer {
    /// `sum_k M_k x_k + bias` (no bias when nil).
    func modifiedOutput(_ terms: [AffineTerm], bias: [Float]?) -> Tensor {
        var z = forwardProduct(terms[0].input, terms[0].matrix)
        for term in terms.dropFirst() { z = z + forwardProduct(term.input, term.matrix) }
        return bias.map { addingBias(z, $0) } ?? z
    }

    /// The rules that ignore the input (flat, w-square): one term `(1, M)`,
    /// `z = M 1 + bias`, `R_in = M^T (R / stab(z))`.
    func onesInputRelevance(_ r: Tensor, _ record: Record, _ matrix: WeightMatrix, bias: [Float]?,
                            stabilizer: Float) -> Tensor {
        let terms = [AffineTerm(input: Tensor(shape: record.inputs[0].shape, repeating: 1), matrix: matrix)]
        let z = modifiedOutput(terms, bias: bias)
        return modifiedRelevance(stabilizedRatio(r, z, epsilon: stabilizer), terms)
    }

    /// `sum_k x_k * (M_k^T s)`.
    func modifiedRelevance(_ s: Tensor, _ terms: [AffineTerm]) -> Tensor {
        var total: Tensor?
        for term in terms {
            var g = backwardProducts(s, inputShape: term.input.shape, matrices: [term.matrix])[0]
            g.multiplyElementwise(by: term.input)
            total = total.map { $0 + g } ?? g
        }
        return total!
    }
}

extension Operation {
    /// The refusal of the rules defined on `y = W x + b` only
    /// (``RelevanceRule/refusal(at:)``): nil for Conv2d and Linear.
    func affineRefusal(rule: String) -> String? {
        self is AffineLayer ? nil : "the \(rule) rule applies to Conv2d and Linear only"
    }

    /// `self` as an affine layer, for the rules defined on `y = W x + b`
    /// only; their `refusal(at:)` (``affineRefusal(rule:)``), checked when
    /// the composite is applied, keeps every other operation away.
    func affineLayer(for rule: String) -> AffineLayer {
        guard let layer = self as? AffineLayer else {
            preconditionFailure("\(name): the \(rule) rule applies to Conv2d and Linear, not \(type(of: self))")
        }
        return layer
    }
}

extension Tensor {
    /// `max(x, 0)` elementwise.
    var positivePart: Tensor { map { max($0, 0) } }
    /// `min(x, 0)` elementwise.
    var negativePart: Tensor { map { min($0, 0) } }
}

/// The terms `[(x^+, P), (x^-, N)]` of the rules that split the input by sign,
/// just `[(x, P)]` when the forward recorded a nonnegative input.
func signSplitTerms(_ record: Record, positive: WeightMatrix, negative: WeightMatrix) -> [AffineTerm] {
    let x = record.inputs[0]
    if record.nonnegativeInput { return [AffineTerm(input: x, matrix: positive)] }
    return [AffineTerm(input: x.positivePart, matrix: positive), AffineTerm(input: x.negativePart, matrix: negative)]
}

extension AffineLayer {
    /// LRP-z+ for an affine layer `y = W x + b` (Conv2d, Linear), as Zennit's
    /// `ZPlus`: only positive contributions `x_i w_ij > 0` count,
    ///
    ///     z_j = sum_i (x_i^+ w_ij^+ + x_i^- w_ij^-) + b_j^+ = (W x + |W| |x|)_j / 2 + b_j^+
    ///     R_i = sum_j (x_i^+ w_ij^+ + x_i^- w_ij^-) R_j / (z_j + eps)
    ///         = (x_i (W^T s)_i + |x_i| (|W|^T s)_i) / 2,      s = R / (z + eps)
    ///
    /// (`x^+ w^+ + x^- w^- = (x w + |x| |w|) / 2`), so the backward products
    /// are absLRP's (`absLRPContributions(s) / 2`) and `z` takes two forwards
    /// of `twin`, a fresh layer of the same geometry given `W` then `|W|`
    /// (materialised for the call) and the bias `b^+`. `eps = 1e-9`.
    func positiveContributionRelevance(_ r: Tensor, _ record: Record, twin: Layer) -> [Tensor] {
        let x = record.inputs[0], weight = parameter("weight")
        if let bias = state["bias"] { twin.setParameter("bias", bias.map { max($0, 0) }) }
        twin.setParameter("weight", weight)
        let signed = twin.apply(x)
        twin.setParameter("weight", weight.absolute)
        let z = (signed + twin.apply(x.absolute)) * 0.5
        let s = Operation.stabilizedRatio(r, z, epsilon: relevanceEpsilon, absolute: false)
        return [absLRPContributions(s, record)[0] * 0.5]
    }
}

/// LRP-z^B (Montavon et al. 2017; Zennit's `ZBox`), for the first layer
/// `y = W x + b` of a model whose inputs lie in a box `l <= x <= h` (per
/// input channel: for images normalised by `(v - mean) / std`,
/// `l = -mean / std` and `h = (1 - mean) / std`):
///
///     z   = (W x + b) - (W^+ l + b^+) - (W^- h + b^-)
///     R_i = x_i (W^T s)_i - l_i (W^{+T} s)_i - h_i (W^{-T} s)_i,   s = R / stab(z)
///
/// with `stab(z) = z + eps sign z`.
public struct ZBoxRule: RelevanceRule {
    /// Lowest and highest input values per channel (axis 1), or one value for all.
    public var low, high: [Float]
    public var stabilizer: Float

    public init(low: [Float], high: [Float], stabilizer: Float = 1e-6) {
        precondition(!low.isEmpty && low.count == high.count, "z-box needs as many lower as upper bounds")
        self.low = low; self.high = high; self.stabilizer = stabilizer
    }

    /// `bounds` per channel of axis 1 spread over `shape` (one value: everywhere).
    private func filled(_ bounds: [Float], _ shape: [Int]) -> Tensor {
        let channels = shape.count > 1 ? shape[1] : 1
        precondition(bounds.count == 1 || bounds.count == channels, "z-box: \(bounds.count) bounds for \(channels) channels")
        let plane = shape.count > 2 ? shape.dropFirst(2).reduce(1, *) : 1
        return Tensor(shape: shape) { (i: Int) -> Float in bounds.count == 1 ? bounds[0] : bounds[(i / plane) % channels] }
    }

    /// Refuses every layer but Conv2d and Linear, and a convolution whose
    /// input channels the bounds do not match (one bound, or one per channel).
    public func refusal(at operation: Operation) -> String? {
        if let refusal = operation.affineRefusal(rule: "z-box") { return refusal }
        guard let convolution = operation as? Conv2d, low.count != 1, low.count != convolution.inChannels else { return nil }
        return "the z-box rule has \(low.count) bounds per side for \(convolution.inChannels) input channels (give 1 or one per channel)"
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "z-box")
        let x = record.inputs[0], bias = layer.biasValues
        let terms = [AffineTerm(input: x, matrix: .weight),
                     AffineTerm(input: filled(low, x.shape), matrix: .positive),
                     AffineTerm(input: filled(high, x.shape), matrix: .negative)]
        let lowPart = layer.modifiedOutput([terms[1]], bias: bias.map { max($0, 0) })
        let highPart = layer.modifiedOutput([terms[2]], bias: bias.map { min($0, 0) })
        let s = stabilizedRatio(r, record.output - (lowPart + highPart), epsilon: stabilizer)
        return [layer.modifiedRelevance(s, [terms[0]]) - (layer.modifiedRelevance(s, [terms[1]]) + layer.modifiedRelevance(s, [terms[2]]))]
    }
}

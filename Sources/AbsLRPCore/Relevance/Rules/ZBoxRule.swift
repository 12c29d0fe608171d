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
    /// Lowest and highest input values per channel (a Conv2d's input
    /// channels, axis 1; a Linear's input features, the last axis), or one
    /// value for all.
    public let low, high: [Float]
    public let stabilizer: Float

    /// - Throws: ``RelevancyMethodError/invalidOption(name:reason:)`` unless
    ///   there are as many (>= 1) lower as upper bounds, all finite, each
    ///   lower one below its upper one.
    public init(low: [Float], high: [Float], stabilizer: Float = 1e-6) throws {
        func refuse(_ reason: String) -> RelevancyMethodError {
            RelevancyMethodError.invalidOption(name: "z-box bounds", reason: reason)
        }
        guard !low.isEmpty, low.count == high.count else {
            throw refuse("need as many lower as upper bounds, at least one, got \(low.count) and \(high.count)")
        }
        for (channel, (l, h)) in zip(low, high).enumerated() {
            guard l.isFinite, h.isFinite, l < h else {
                throw refuse("need finite bounds with low < high, got low \(l), high \(h) for channel \(channel)")
            }
        }
        self.low = low; self.high = high; self.stabilizer = stabilizer
    }

    /// `bounds`, one value or one per value of `axis`, spread over `shape`.
    private func filled(_ bounds: [Float], _ shape: [Int], axis: Int) -> Tensor {
        let count = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        precondition(bounds.count == 1 || bounds.count == count, "z-box: \(bounds.count) bounds for \(count) channels")
        return Tensor(shape: shape) { (i: Int) -> Float in bounds.count == 1 ? bounds[0] : bounds[(i / inner) % count] }
    }

    /// The axis the bounds run along: a convolution's channels, a dense layer's features.
    private func boundsAxis(_ operation: Operation, rank: Int) -> Int { operation is Conv2d ? 1 : rank - 1 }

    /// Refuses every layer but Conv2d and Linear, and one whose input
    /// channels (features) the bounds do not match (one bound, or one per channel).
    public func refusal(at operation: Operation) -> String? {
        if let refusal = operation.affineRefusal(rule: "z-box") { return refusal }
        let channels = (operation as? Conv2d)?.inChannels ?? (operation as? Linear)?.inFeatures
        guard let channels, low.count != 1, low.count != channels else { return nil }
        let unit = operation is Conv2d ? "input channels" : "input features"
        return "the z-box rule has \(low.count) bounds per side for \(channels) \(unit) (give 1 or one per channel)"
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        let layer = operation.affineLayer(for: "z-box")
        let x = record.inputs[0], bias = layer.biasValues, axis = boundsAxis(operation, rank: x.rank)
        let terms = [AffineTerm(input: x, matrix: .weight),
                     AffineTerm(input: filled(low, x.shape, axis: axis), matrix: .positive),
                     AffineTerm(input: filled(high, x.shape, axis: axis), matrix: .negative)]
        let lowPart = layer.modifiedOutput([terms[1]], bias: bias.map { max($0, 0) })
        let highPart = layer.modifiedOutput([terms[2]], bias: bias.map { min($0, 0) })
        let s = stabilizedRatio(r, record.output - (lowPart + highPart), epsilon: stabilizer)
        return [layer.modifiedRelevance(s, [terms[0]]) - (layer.modifiedRelevance(s, [terms[1]]) + layer.modifiedRelevance(s, [terms[2]]))]
    }
}

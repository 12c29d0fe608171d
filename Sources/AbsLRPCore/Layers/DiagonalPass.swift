/// The absLRP contribution of a layer with a diagonal Jacobian (ReLU,
/// BatchNorm, identities), as a pass over ranges of values:
///
///     c_i = (x_i d_i + |x_i| a_i) * R_i / (|y_i| + eps)
///
/// where `d_i`, `a_i` are the layer's and its absolute twin's derivatives
/// at element `i`, and `rule.plane(k)(x_i) = x_i d_i + |x_i| a_i` for an
/// element of plane `k` (a `DiagonalRule`, whose per-plane function the
/// loop is specialised for, its constants taken once per plane; planes
/// are runs of `planeSize` consecutive values that share constants, such
/// as one channel of one image for BatchNorm; by default the whole tensor
/// is one plane).
///
/// Passes of consecutive layers chain (`contribution(of:_:)`): the backward
/// walk runs a run of such layers whose intermediate results are not
/// normalised (a ResNet block's `act2`, `drop_block`, `bn2`) piece by piece,
/// each piece of `R` through every layer while it is in cache, instead of
/// one pass and one tensor per layer: the same arithmetic on every value,
/// so the same result bit for bit (`BackwardContext.backward(through:_:)`).
struct DiagonalPass {
    /// The layer's input shape: the shape of the contribution.
    let inputShape: [Int]
    /// The values of `R` it reads (its recorded output's count).
    let count: Int
    /// `out[i - lo] = c_i` for `i` in `range` (`lo = range.lowerBound`),
    /// from `r[i - lo] = R_i`; `r` and `out` do not overlap.
    private let run: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void

    init<Rule: DiagonalRule>(_ record: Record, planeSize: Int? = nil, _ rule: Rule) {
        let x = record.inputs[0], y = record.output
        precondition(x.count == y.count, "diagonal layer: input of \(x.count) values, output of \(y.count)")
        inputShape = x.shape
        count = y.count
        let plane = max(1, planeSize ?? x.count)
        run = { r, out, range in
            x.storage.withUnsafeBufferPointer { xs in
                y.storage.withUnsafeBufferPointer { ys in
                    guard let xp = xs.baseAddress, let yp = ys.baseAddress else { return }
                    let lo = range.lowerBound
                    var start = lo
                    while start < range.upperBound {
                        let k = start / plane, end = min(range.upperBound, (k + 1) * plane)
                        let weight = rule.plane(k)
                        // from the run's start, so that the loop indexes all four alike (and is vectorised)
                        let (xq, yq, rq, oq) = (xp + start, yp + start, r + (start - lo), out + (start - lo))
                        for i in 0..<(end - start) {
                            oq[i] = weight(xq[i]) * (rq[i] / (abs(yq[i]) + relevanceEpsilon))
                        }
                        start = end
                    }
                }
            }
        }
    }

    /// Values of one piece of a chain (16 KB: two pieces and the layers'
    /// inputs and outputs stay in the L1 and L2 caches).
    static let piece = 1 << 12

    /// The contributions of `passes` applied one after the other to `r`
    /// (`passes[0]` reads `r`, each next one the previous one's result), as
    /// one tensor at the last one's input shape.
    static func contribution(of passes: [DiagonalPass], _ r: Tensor) -> Tensor {
        precondition(!passes.isEmpty && passes[0].count == r.count, "diagonal passes over \(r.count) values")
        for (a, b) in zip(passes, passes.dropFirst()) {
            precondition(a.inputShape.reduce(1, *) == b.count, "diagonal passes: \(a.inputShape) into \(b.count) values")
        }
        return r.storage.withUnsafeBufferPointer { rs in
            Tensor(shape: passes[passes.count - 1].inputShape) { out in
                guard let rp = rs.baseAddress else { return }
                parallelChunks(rs.count) { range in
                    guard passes.count > 1 else { return passes[0].run(rp + range.lowerBound, out + range.lowerBound, range) }
                    let buffers = Scratch(count: 2 * piece)
                    defer { buffers.free() }
                    for start in Swift.stride(from: range.lowerBound, to: range.upperBound, by: piece) {
                        let part = start..<min(range.upperBound, start + piece)
                        var source = rp + start
                        for (k, pass) in passes.enumerated() {
                            let target = k == passes.count - 1 ? out + start : buffers.base + (k % 2) * piece
                            pass.run(source, target, part)
                            source = UnsafePointer(target)
                        }
                    }
                }
            }
        }
    }
}

/// `x d + |x| a` of a layer with a diagonal Jacobian, for the elements `x`
/// of plane `k`: `plane(k)` (see `DiagonalPass`).
protocol DiagonalRule {
    associatedtype Plane: ElementwiseFunction
    func plane(_ k: Int) -> Plane
}

/// A `DiagonalRule` with one function for every plane.
protocol UniformDiagonalRule: DiagonalRule, ElementwiseFunction where Plane == Self {}

extension UniformDiagonalRule {
    func plane(_ k: Int) -> Self { self }
}

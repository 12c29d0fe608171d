import AbsLRPCore

/// Which input entries the stepwise masking removes first (spec section 6, step 5).
enum MaskOrder {
    /// Most relevant first (MoRF): the entries with the largest map values.
    case mostRelevantFirst
    /// Least relevant first (LeRF): the entries with the smallest map values.
    case leastRelevantFirst
}

/// What stepwise masking records at each of its `steps` iterations.
struct MaskingTrajectory {
    /// The input of each step, (M, C, H, W); `inputs[0]` is unmasked.
    var inputs: [Tensor]
    /// `o[b, y_b]`, the target logit of image `b` at each step: `outputs[step][b]`.
    var outputs: [[Float]]
    /// The input-times-gradient map `r` of each step, (M, C, H, W).
    var maps: [Tensor]
}

/// Stepwise masking of the reference's `_stepwise_masking`, with the
/// gradient of the *unmodified* model.
enum StepwiseMasking {
    /// `torch.linspace(1/steps, 1, steps)` in float32: with
    /// `step = (1 - start) / (steps - 1)`, entry `i` is `start + step * i`
    /// for `i < steps / 2` and `1 - step * (steps - 1 - i)` after; one step
    /// gives `[start]`. The last fraction is exactly 1.
    static func fractions(steps: Int) -> [Float] {
        let start = Float(1.0 / Double(steps)), end: Float = 1
        guard steps > 1 else { return [start] }
        let step = (end - start) / Float(steps - 1)
        return (0..<steps).map { i in
            i < steps / 2 ? start + step * Float(i) : end - step * Float(steps - 1 - i)
        }
    }

    /// Runs the masking from `x` (M, C, H, W) for `targets` (M).
    ///
    /// For each fraction `p` (``fractions(steps:)``):
    /// 1. forward `xm`; the loss is `mean_b |o[b, y_b]|`, whose gradient with
    ///    respect to the logits is `sign(o[b, y_b]) / M` at the targets and 0
    ///    elsewhere; backpropagate it (mode `.gradient`) to `g = dL/dxm`;
    /// 2. `r = normalize_sum(|g * xm|)` per image;
    /// 3. record `xm`, `o[b, y_b]` and `r`;
    /// 4. unless `p == 1`: set to 0 the `int(p * C*H*W)` entries of `xm`
    ///    (product in float32) with the largest (MoRF) or smallest (LeRF) `r`,
    ///    chosen over all channels and pixels as `torch.topk` chooses them
    ///    (``TopKSelection``). Earlier masks stay; entries already masked have
    ///    `r = 0`.
    static func run(classifier: Classifier, x: Tensor, targets: [Int], order: MaskOrder,
                    steps: Int) -> MaskingTrajectory {
        let m = x.shape[0], n = x.sampleCount
        var trajectory = MaskingTrajectory(inputs: [], outputs: [], maps: [])
        var xm = x
        for p in fractions(steps: steps) {
            let (logits, tape) = classifier.recordedForward(xm)
            let k = logits.shape[1]
            let targetLogits = (0..<m).map { logits.storage[$0 * k + targets[$0]] }
            var seed = Tensor(shape: [m, k])
            let inverseBatch = 1 / Float(m)
            for b in 0..<m { seed.storage[b * k + targets[b]] = signum(targetLogits[b]) * inverseBatch }
            let gradient = classifier.backward(seed, tape: tape, rules: .gradient).input
            let map = (gradient * xm).absolute.normalizedSum()
            trajectory.inputs.append(xm)
            trajectory.outputs.append(targetLogits)
            trajectory.maps.append(map)
            guard p < 1 else { continue }
            let count = Int(p * Float(n))
            map.storage.withUnsafeBufferPointer { r in
                xm.storage.withUnsafeMutableBufferPointer { values in
                    for b in 0..<m {
                        let row = UnsafeBufferPointer(rebasing: r[(b * n)..<((b + 1) * n)])
                        for i in TopKSelection.select(row, k: count, largest: order == .mostRelevantFirst) {
                            values[b * n + i] = 0
                        }
                    }
                }
            }
        }
        return trajectory
    }
}

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
    /// With the method of ``StepwiseMasking/runBothOrders(classifier:x:targets:steps:explaining:)``,
    /// its relevance of the inputs of steps `1..<steps` (each (M, C, H, W),
    /// as ``RelevancyMethod/relevance(_:targets:)`` returns it), from the
    /// masking's own record of each step: `relevance[step - 1]`; else empty.
    var relevance: [Tensor]
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
    ///
    /// After the gradient of each step, `record(step, logits, tape)`
    /// may run more passes over the step's recorded forward (and release
    /// its records): GAE explains every masked input with it
    /// (``runBothOrders(classifier:x:targets:steps:explaining:)``).
    static func run(classifier: Classifier, x: Tensor, targets: [Int], order: MaskOrder, steps: Int,
                    record: (_ step: Int, _ logits: Tensor, _ tape: Tape) -> Void = { _, _, _ in }) -> MaskingTrajectory {
        let m = x.shape[0], n = x.sampleCount
        var trajectory = MaskingTrajectory(inputs: [], outputs: [], maps: [], relevance: [])
        var xm = x
        for (step, p) in fractions(steps: steps).enumerated() {
            let (logits, tape) = classifier.recordedForward(xm)
            let k = logits.shape[1]
            let targetLogits = (0..<m).map { logits.storage[$0 * k + targets[$0]] }
            var seed = Tensor(shape: [m, k])
            let inverseBatch = 1 / Float(m)
            for b in 0..<m { seed.storage[b * k + targets[b]] = signum(targetLogits[b]) * inverseBatch }
            let gradient = classifier.backward(seed, tape: tape, rules: .gradient).input
            record(step, logits, tape)
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

    /// MoRF and LeRF from `x` (M, C, H, W) for `targets` (M), at the same
    /// time, one core each (``concurrently``): each order's steps depend on
    /// each other, the orders do not. Each order runs at batch `M` on its
    /// own thread with single-threaded products, so no product waits for
    /// the other core; the masks equal two calls of
    /// ``run(classifier:x:targets:order:steps:record:)``.
    ///
    /// From step 1 on, `method` (which must explain `classifier`'s own
    /// record, ``RecordedRelevancyMethod/explainsClassifierRecord``) also
    /// explains the step's input for `targets` from the step's recorded
    /// forward, into the trajectory's `relevance`: GAE needs every masked
    /// input's relevance, and this spares it a second forward of each. One
    /// method only: it may release the record's tensors as its passes go.
    /// - Throws: ``NonFiniteRelevanceError`` when a method's relevance is not finite.
    static func runBothOrders(classifier: Classifier, x: Tensor, targets: [Int], steps: Int,
                              explaining method: RecordedRelevancyMethod? = nil) throws
        -> (morf: MaskingTrajectory, lerf: MaskingTrajectory) {
        func trajectory(_ order: MaskOrder) -> MaskingTrajectory {
            var relevance: [Tensor] = []
            var trajectory = run(classifier: classifier, x: x, targets: targets, order: order, steps: steps) { step, logits, tape in
                guard step > 0, let method else { return }
                relevance.append(method.relevance(recorded: tape, logits: logits, targets: targets))
            }
            trajectory.relevance = relevance
            return trajectory
        }
        let (morf, lerf) = concurrently({ trajectory(.mostRelevantFirst) }, { trajectory(.leastRelevantFirst) })
        if let method {
            for trajectory in [morf, lerf] {
                for (step, map) in zip(1..., trajectory.relevance) {
                    try method.requireFiniteRelevance(map, input: trajectory.inputs[step], targets: targets)
                }
            }
        }
        return (morf, lerf)
    }
}

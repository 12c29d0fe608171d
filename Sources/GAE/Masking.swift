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
    /// `sum_k r_k`, the sum of the steps' input-times-gradient maps, added
    /// in step order, (M, C, H, W): all the impact map needs of them.
    var mapSum: Tensor
    /// With the method of ``StepwiseMasking/runBothOrders(from:classifier:steps:explaining:)``,
    /// `normalize_max(relu(R))` of its relevance `R` of the inputs of steps
    /// `1..<steps` (each (M, C, H, W)), from the masking's own record of each
    /// step: `relevance[step - 1]`; else empty.
    var relevance: [Tensor]
    /// The first of those steps whose `R` is not finite, and that `R`.
    var nonFinite: (step: Int, relevance: Tensor)?
}

/// One masking step of `M` images: its input and input-times-gradient map.
struct MaskingStep {
    /// `xm`, (M, C, H, W).
    var input: Tensor
    /// The targets `y` (M) the step's loss and map are of.
    var targets: [Int]
    /// `o[b, y_b]` (M).
    var targetLogits: [Float]
    /// `r = normalize_sum(|dL/dxm * xm|)` per image, (M, C, H, W).
    var map: Tensor
}

/// Stepwise masking of the reference's `_stepwise_masking`, with the
/// gradient of the *unmodified* model.
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
/// Steps 1-3 of the first step (``measure(classifier:_:targets:)`` of the
/// unmasked `x`) are the same for both orders: GAE takes them once
/// (``runBothOrders(from:classifier:steps:explaining:)``).
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

    /// Steps 1-2 for the input `xm` (M, C, H, W) and `targets` (M), with
    /// the logits (M, K) and the tape of the recorded forward of `xm`, which
    /// the input gradient has passed over; more passes may follow
    /// (``RecordedRelevancyMethod/relevance(recorded:logits:targets:)``).
    static func measure(classifier: Classifier, _ xm: Tensor, targets: [Int])
        -> (step: MaskingStep, logits: Tensor, tape: Tape) {
        let m = xm.shape[0]
        let (logits, tape) = classifier.recordedForward(xm)
        let k = logits.shape[1]
        let targetLogits = (0..<m).map { logits.storage[$0 * k + targets[$0]] }
        var seed = Tensor(shape: [m, k])
        let inverseBatch = 1 / Float(m)
        for b in 0..<m { seed.storage[b * k + targets[b]] = signum(targetLogits[b]) * inverseBatch }
        let gradient = classifier.backward(seed, tape: tape, rules: .gradient).input
        let step = MaskingStep(input: xm, targets: targets, targetLogits: targetLogits,
                               map: (gradient * xm).absolute.normalizedSum())
        return (step, logits, tape)
    }

    /// Step 4: `xm` with the `int(p * C*H*W)` entries of each image that
    /// `map` ranks first in `order` set to 0.
    private static func masked(_ xm: Tensor, by map: Tensor, fraction p: Float, order: MaskOrder) -> Tensor {
        var xm = xm
        let m = xm.shape[0], n = xm.sampleCount, count = Int(p * Float(n))
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
        return xm
    }

    /// One order's masking from its measured first step `first`; with
    /// `method`, the relevance of every later step's input from the step's
    /// record, after its input gradient, kept as GAE scores it (a
    /// non-finite one as it came).
    private static func run(from first: MaskingStep, classifier: Classifier, order: MaskOrder, steps: Int,
                            explaining method: RecordedRelevancyMethod?) -> MaskingTrajectory {
        var trajectory = MaskingTrajectory(inputs: [first.input], outputs: [first.targetLogits], mapSum: first.map,
                                           relevance: [])
        var (xm, map) = (first.input, first.map)
        for (index, p) in fractions(steps: steps).dropLast().enumerated() {
            xm = masked(xm, by: map, fraction: p, order: order)
            let (step, logits, tape) = measure(classifier: classifier, xm, targets: first.targets)
            if let method {
                let relevance = method.relevance(recorded: tape, logits: logits, targets: first.targets)
                if trajectory.nonFinite == nil, relevance.firstNonFinite() != nil {
                    trajectory.nonFinite = (index + 1, relevance)
                }
                trajectory.relevance.append(Scoring.positivePart(relevance))
            }
            trajectory.inputs.append(xm)
            trajectory.outputs.append(step.targetLogits)
            trajectory.mapSum = trajectory.mapSum + step.map
            map = step.map
        }
        return trajectory
    }

    /// MoRF and LeRF after their common first step `first` (the
    /// ``measure(classifier:_:targets:)`` of the unmasked input), at the same
    /// time, one core each (``concurrently``): each order's steps depend on
    /// each other, the orders do not. Each order runs at batch `M` on its
    /// own thread with single-threaded products, so no product waits for
    /// the other core; the masks equal those of two orders run one after
    /// the other.
    ///
    /// From step 1 on, `method` (which must explain `classifier`'s own
    /// record, ``RecordedRelevancyMethod/explainsClassifierRecord``) also
    /// explains the step's input for the targets from the step's recorded
    /// forward, into the trajectory's `relevance`: GAE needs every masked
    /// input's relevance, and this spares it a second forward of each. One
    /// method only: it may release the record's tensors as its passes go.
    /// - Throws: ``NonFiniteRelevanceError`` when a method's relevance is not finite.
    static func runBothOrders(from first: MaskingStep, classifier: Classifier, steps: Int,
                              explaining method: RecordedRelevancyMethod? = nil) throws
        -> (morf: MaskingTrajectory, lerf: MaskingTrajectory) {
        let (morf, lerf) = concurrently(
            { run(from: first, classifier: classifier, order: .mostRelevantFirst, steps: steps, explaining: method) },
            { run(from: first, classifier: classifier, order: .leastRelevantFirst, steps: steps, explaining: method) })
        if let method {
            for trajectory in [morf, lerf] {
                guard let (step, relevance) = trajectory.nonFinite else { continue }
                try method.requireFiniteRelevance(relevance, input: trajectory.inputs[step], targets: first.targets)
            }
        }
        return (morf, lerf)
    }
}

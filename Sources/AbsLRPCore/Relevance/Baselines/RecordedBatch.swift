/// A batch run once through the model with its record kept, and the classes
/// to explain: the start of every gradient- and LRP-based method.
struct RecordedBatch {
    /// (B, K) logits.
    let logits: Tensor
    /// The record every backward pass of this batch walks.
    let tape: Tape
    /// The explained class of each image.
    let targets: [Int]

    /// `onehot(t)` (B, K): the output signal whose backward pass is the
    /// gradient of `sum_b logits[b, t_b]`.
    var targetSeed: Tensor { Tensor.oneHot(targets, classes: logits.shape[1]) }

    /// `onehot(t) * logits` (B, K): LRP's starting relevance, the explained
    /// logit itself (Captum's convention; conservative rules then distribute
    /// `f_t(x)` over the input).
    var targetLogitSeed: Tensor { targetSeed * logits }
}

extension RelevancyMethod {
    /// Checks `x` against the model, runs the recorded forward and resolves
    /// the targets (the argmax when nil).
    func recordBatch(_ x: Tensor, targets: [Int]?) throws -> RecordedBatch {
        try classifier.validateInput(x)
        let (logits, tape) = classifier.recordedForward(x)
        return RecordedBatch(logits: logits, tape: tape, targets: try resolveTargets(targets, logits: logits))
    }

    /// `∂ logits[b, t_b] / ∂ x_b` (B, C, H, W) over a recorded batch; with
    /// `traces`, also the gradient at every module's input by module name.
    func targetGradient(_ batch: RecordedBatch, traces: Bool = false) -> (input: Tensor, traces: [String: Tensor]) {
        classifier.backward(batch.targetSeed, tape: batch.tape, rules: .gradient, traces: traces)
    }
}

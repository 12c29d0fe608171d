/// A method whose explanation of `x` starts with the classifier's own
/// recorded forward of `x` and only reads it, so that a caller that records
/// that forward anyway (GAE's masking takes the input gradient of every
/// masked image) can hand the record over instead of the method running the
/// same forward again.
public protocol RecordedRelevancyMethod: RelevancyMethod {
    /// Whether ``relevance(recorded:logits:targets:)`` applies: the method
    /// explains `classifier`'s unmodified forward (absLRP without canonizers).
    var explainsClassifierRecord: Bool { get }

    /// `relevance(x, targets: targets)` from `classifier.recordedForward(x)`,
    /// given as `tape` and `logits` (B, K), for `targets` (B) already checked
    /// against the model. The method may release the tape's records: other
    /// passes over it must run before.
    func relevance(recorded tape: Tape, logits: Tensor, targets: [Int]) -> Tensor
}

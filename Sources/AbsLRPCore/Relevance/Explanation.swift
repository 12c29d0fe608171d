/// Everything one explanation of a batch produces, the same for every method:
/// the logits of the forward the method ran, the explained classes, the
/// max-normalised relevance, and the maps a method computes on the way
/// (`extras`, by name: absLRP's `positive` and `negative` passes).
public struct Explanation {
    /// (B, K) logits of the method's forward pass.
    public var logits: Tensor
    /// The explained class of each image.
    public var targets: [Int]
    /// (B, C, H, W) relevance, max |value| 1 per image.
    public var relevance: Tensor
    /// Named extra maps, each (B, C, H, W).
    public var extras: [String: Tensor]
    /// Per-module values of the method's backward pass by module name, when
    /// asked for (`AbsLRP.explain(_:targets:traces:)`); empty otherwise.
    public var traces: [String: Tensor]

    public init(logits: Tensor, targets: [Int], relevance: Tensor, extras: [String: Tensor] = [:],
                traces: [String: Tensor] = [:]) {
        self.logits = logits; self.targets = targets; self.relevance = relevance
        self.extras = extras; self.traces = traces
    }
}

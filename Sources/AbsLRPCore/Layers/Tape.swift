/// What one operation saw in a recorded forward pass: its inputs and output.
/// Layers that need more (the argmax of a max pool, LayerNorm statistics)
/// recompute it from these in the backward pass, which costs little next to
/// the matrix products and keeps the record small.
public struct Record {
    public var inputs: [Tensor]
    public var output: Tensor
    /// Whether no value of the first input is negative (recorded by affine
    /// layers, whose absLRP rule then needs one product instead of two).
    public var nonnegativeInput = false
}

/// The record of one forward pass: each operation's `Record`, looked up by
/// the operation's identity. One tape serves any number of backward passes
/// (the positive and negative relevance passes, and the gradient).
public final class Tape {
    private var records: [ObjectIdentifier: Record] = [:]

    public init() {}

    func save(_ op: AnyObject, _ record: Record) { records[ObjectIdentifier(op)] = record }

    /// Whether `op` was recorded.
    public func has(_ op: AnyObject) -> Bool { records[ObjectIdentifier(op)] != nil }

    /// The record of `op`; it must have been recorded.
    public func record(for op: Module) -> Record {
        guard let r = records[ObjectIdentifier(op)] else {
            preconditionFailure("no record for \(op.name): backward pass without a recorded forward")
        }
        return r
    }
}

/// Settings of a forward pass.
public final class ForwardContext {
    /// Where operations record their inputs and outputs; nil for an
    /// inference-only pass that keeps nothing.
    public let tape: Tape?

    public init(tape: Tape? = nil) { self.tape = tape }

    /// Records `op`'s inputs and output; `nonnegativeInput` is evaluated only when recording.
    @inline(__always)
    func save(_ op: Module, inputs: [Tensor], output: Tensor, nonnegativeInput: @autoclosure () -> Bool = false) {
        guard let tape else { return }
        tape.save(op, Record(inputs: inputs, output: output, nonnegativeInput: nonnegativeInput()))
    }
}

/// What a backward pass propagates.
public enum BackwardMode: Equatable, Sendable {
    /// The vector-Jacobian product of the unmodified model (input gradients).
    case gradient
    /// The vector-Jacobian product of the reference's modified forward, in
    /// which LayerNorm and softmax statistics are constants (`detachedVJP`).
    /// absLRP needs it where a residual addition's shortcut is also the
    /// start of the branch it is added to (see `ResidualAddition`).
    case detachedGradient
    /// The absLRP rule (spec section 1).
    case absLRP
    /// LRP-epsilon: `R_i = x_i * J^T (R / (y + eps * sign(y)))`, gradient-style.
    case lrpEpsilon(Float)
    /// LRP-z+ (alpha 1, beta 0) on linear layers, epsilon-free elsewhere.
    case lrpZPlus
}

/// Settings and outputs of a backward pass.
public final class BackwardContext {
    public let tape: Tape
    public let mode: BackwardMode
    /// Relevance (or gradient) at each module's input, by module name, when
    /// tracing was asked for.
    public private(set) var traces: [String: Tensor]?

    public init(tape: Tape, mode: BackwardMode, recordTraces: Bool = false) {
        self.tape = tape
        self.mode = mode
        self.traces = recordTraces ? [:] : nil
    }

    /// Records `value` under `name` when tracing (the model itself is `model`).
    @inline(__always)
    public func trace(_ name: String, _ value: @autoclosure () -> Tensor) {
        if traces != nil { traces![name.isEmpty ? "model" : name] = value() }
    }
}

extension BackwardContext {
    /// Backward through `modules` (given in forward order) from `r` at the
    /// last one's output.
    ///
    /// In absLRP mode without traces, a layer whose result goes straight into
    /// another layer that renormalises (`Layer.renormalizesRelevance`) skips
    /// its own normalisation: every rule is linear in the incoming relevance
    /// and normalises its output, so a per-sample scale cancels (up to the
    /// `1e-9` in the denominators, far below float rounding at the masses
    /// relevance has). That saves two passes over the tensor per layer, a
    /// third of the memory traffic of BatchNorm and ReLU.
    public func backward(through modules: [Module], _ r: Tensor) -> Tensor {
        let skips = mode == .absLRP && traces == nil
        var result = r
        for i in modules.indices.reversed() {
            if skips, i > 0, let layer = modules[i] as? Layer,
               let consumer = modules[i - 1] as? Layer, consumer.renormalizesRelevance {
                result = layer.backward(result, self, normalized: false)
            } else {
                result = modules[i].backward(result, self)
            }
        }
        return result
    }
}

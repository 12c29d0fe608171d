import Foundation

/// What one operation saw in a recorded forward pass: its inputs and output.
/// Layers that need more (the argmax of a max pool, LayerNorm statistics)
/// recompute it from these in the backward pass, which costs little next to
/// the matrix products and keeps the record small.
public struct Record {
    public var inputs: [Tensor]
    public var output: Tensor
    /// Whether no value of the first input is negative (recorded by affine
    /// layers, whose absLRP rule then needs one product instead of two; by
    /// every layer whose input is known nonnegative,
    /// `ForwardContext.noteNonnegative`; false: not known).
    public var nonnegativeInput = false
}

/// The record of one forward pass: each operation's `Record`, looked up by
/// the operation's identity. One tape serves any number of backward passes
/// (the positive and negative relevance passes, and the gradient).
///
/// A tape whose passes are known in advance (`releaseRecords(afterPasses:)`)
/// drops each record once that many releasing passes are done with it, so a
/// backward pass frees the activations of the layers it has left behind
/// while it allocates the larger relevance tensors of the early layers
/// (about a fifth of the peak memory of absLRP on ResNet-50 and VGG-16).
/// Passes run concurrently, so the records are read and dropped under a lock.
public final class Tape: @unchecked Sendable {
    private var records: [ObjectIdentifier: Record] = [:]
    /// How many releasing passes are done with each record.
    private var finishedPasses: [ObjectIdentifier: Int] = [:]
    private var passesBeforeRelease: Int?
    private let lock = NSLock()

    public init() {}

    func save(_ op: AnyObject, _ record: Record) { lock.withLock { records[ObjectIdentifier(op)] = record } }

    /// Whether `op` was recorded (and its record not yet released).
    public func has(_ op: AnyObject) -> Bool { lock.withLock { records[ObjectIdentifier(op)] != nil } }

    /// The record of `op`; it must have been recorded and not released.
    public func record(for op: Module) -> Record {
        guard let r = lock.withLock({ records[ObjectIdentifier(op)] }) else {
            preconditionFailure("no record for \(op.name): backward pass without a recorded forward, or after its release")
        }
        return r
    }

    /// From now on a record is dropped when `passes` backward passes whose
    /// context releases records (`BackwardContext.releasesRecords`) have
    /// finished with it; other passes must not read the tape after that.
    public func releaseRecords(afterPasses passes: Int) {
        precondition(passes > 0, "releaseRecords(afterPasses:) needs at least one pass, got \(passes)")
        lock.withLock { passesBeforeRelease = passes }
    }

    /// One releasing pass is done with `op`'s record.
    func finished(with op: AnyObject) {
        lock.withLock {
            guard let passes = passesBeforeRelease else { return }
            let id = ObjectIdentifier(op), done = finishedPasses[id, default: 0] + 1
            if done >= passes {
                records[id] = nil
                finishedPasses[id] = nil
            } else {
                finishedPasses[id] = done
            }
        }
    }
}

/// Settings of a forward pass.
public final class ForwardContext {
    /// Where operations record their inputs and outputs; nil for an
    /// inference-only pass that keeps nothing.
    public let tape: Tape?

    public init(tape: Tape? = nil) { self.tape = tape }

    /// `modules` applied one after another. Without a tape (inference), a
    /// `BatchNorm2d` followed by a `ReLU`, with only `Identity`s between
    /// them (a ResNet block's `drop_block`), runs as one pass
    /// (`BatchNorm2d.rectified`): the same arithmetic on every value, so
    /// the logits equal the recorded forward's, with one pass over the tensor
    /// and one tensor less.
    func forward(through modules: [Module], _ x: Tensor) -> Tensor {
        guard tape == nil else { return modules.reduce(x) { $1.forward($0, self) } }
        var y = x, i = 0
        while i < modules.count {
            var next = i + 1
            while next < modules.count, modules[next] is Identity { next += 1 }
            if let norm = modules[i] as? BatchNorm2d, next < modules.count, modules[next] is ReLU {
                y = norm.rectified(y)
                i = next + 1
            } else {
                y = modules[i].forward(y, self)
                i += 1
            }
        }
        return y
    }

    /// Records `op`'s inputs and output. `Record.nonnegativeInput` is true
    /// when the first input is known to be nonnegative (`noteNonnegative`),
    /// else `nonnegativeInput()` (the affine layers' test of their input),
    /// evaluated only then and only when recording: a pass over every
    /// convolution's input saved where a ReLU or a max pool computed it.
    @inline(__always)
    func save(_ op: Module, inputs: [Tensor], output: Tensor, nonnegativeInput: @autoclosure () -> Bool = false) {
        guard let tape else { return }
        let nonnegative = inputs.first.map(isKnownNonnegative) == true || nonnegativeInput()
        tape.save(op, Record(inputs: inputs, output: output, nonnegativeInput: nonnegative))
    }

    /// The storage of the recorded outputs known to hold no negative value
    /// (a ReLU's, a max pool's of such an input), by address and count. An
    /// address names one tensor for the whole recorded forward: the tape
    /// holds every output until the forward is over, so no buffer is freed
    /// and reused while this set is consulted.
    private var nonnegativeStorage: Set<StorageKey> = []

    private struct StorageKey: Hashable {
        let address: UInt, count: Int
        init(_ t: Tensor) {
            address = t.storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            count = t.count
        }
    }

    /// Notes that the recorded output `t` holds no negative value (`-0` and NaN count as nonnegative, as in `Tensor.isNonnegative`).
    func noteNonnegative(_ t: Tensor) {
        guard tape != nil, t.count > 0 else { return }
        nonnegativeStorage.insert(StorageKey(t))
    }

    /// Whether `t` is a recorded output noted as nonnegative.
    func isKnownNonnegative(_ t: Tensor) -> Bool {
        tape != nil && t.count > 0 && nonnegativeStorage.contains(StorageKey(t))
    }
}

/// Settings and outputs of a backward pass.
public final class BackwardContext {
    public let tape: Tape
    /// The rule of every operation (a gradient, absLRP, an LRP composite).
    public let rules: RuleMap
    /// Relevance (or gradient) at each module's input, by module name, when
    /// tracing was asked for.
    public private(set) var traces: [String: Tensor]?
    /// Whether this pass tells the tape when it is done with a record
    /// (`Tape.releaseRecords(afterPasses:)`). Inner passes that re-read a
    /// block's records (the identity shortcut's branch gradient) do not.
    public let releasesRecords: Bool

    public init(tape: Tape, rules: RuleMap, recordTraces: Bool = false, releasesRecords: Bool = false) {
        self.tape = tape
        self.rules = rules
        self.traces = recordTraces ? [:] : nil
        self.releasesRecords = releasesRecords
    }

    /// `op`'s record is no longer needed by this pass.
    @inline(__always)
    func finished(with op: Operation) {
        if releasesRecords { tape.finished(with: op) }
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
    /// Without traces, a layer whose rule normalises its result
    /// (`RelevanceRule.normalizesRelevance`, absLRP) and whose result goes
    /// straight into another layer whose rule normalises too skips its own
    /// normalisation: such rules are linear in the incoming relevance, so a
    /// per-sample scale cancels (up to the `1e-9` in the denominators, far
    /// below float rounding at the masses relevance has). That saves two
    /// passes over the tensor per layer, a third of the memory traffic of
    /// BatchNorm and ReLU. A run of two or more such layers with diagonal
    /// absLRP contributions (`Layer.absLRPDiagonalPass`: a ResNet block's
    /// `act2`, `drop_block`, `bn2`) is one chained pass (`DiagonalPass`):
    /// the values of the layers one after the other, without a tensor
    /// between them.
    public func backward(through modules: [Module], _ r: Tensor) -> Tensor {
        let skips = traces == nil
        /// Whether module `i`'s result goes unnormalised into a normalising consumer.
        func unnormalized(_ i: Int) -> Bool {
            guard skips, i > 0, let layer = modules[i] as? Layer, rules[layer].normalizesRelevance,
                  let consumer = modules[i - 1] as? Layer else { return false }
            return rules[consumer].normalizesRelevance
        }
        var result = r
        var i = modules.count - 1
        while i >= 0 {
            let run = skips ? diagonalRun(modules[...i]) : []
            if run.count > 1 {
                precondition(result.count == run[0].pass.count, "\(run[0].layer.name): backward got \(result.shape)")
                result = DiagonalPass.contribution(of: run.map(\.pass), result)
                run.forEach { finished(with: $0.layer) }
                i -= run.count
                if !unnormalized(i + 1) { result.normalizeSum() }
            } else {
                result = unnormalized(i) ? (modules[i] as! Layer).backward(result, self, normalized: false)
                                         : modules[i].backward(result, self)
                i -= 1
            }
        }
        return result
    }

    /// The layers at the end of `modules`, last first, whose rule is absLRP's
    /// dividing one and whose contribution is a `DiagonalPass`, as long as
    /// each but the last feeds a normalising rule (all of them do: absLRP's).
    private func diagonalRun(_ modules: ArraySlice<Module>) -> [(layer: Layer, pass: DiagonalPass)] {
        var run: [(layer: Layer, pass: DiagonalPass)] = []
        for module in modules.reversed() {
            guard let layer = module as? Layer, let rule = rules[layer] as? AbsLRPRule, rule.dividesRelevance,
                  let pass = layer.absLRPDiagonalPass(tape.record(for: layer)) else { break }
            run.append((layer, pass))
        }
        return run
    }
}

/// A leaf operation of the module tree with one or more inputs, and the
/// vector-Jacobian products that every relevance rule and gradient pass is
/// built from.
///
/// An operation supplies three vector-Jacobian products at its recorded
/// inputs `x_i` (output `y`):
/// - `vjp`: the true one, `J_f(x)^T g` (input gradients, GAE's masking);
/// - `detachedVJP`: the one absLRP uses, where LayerNorm and softmax
///   statistics are constants (equal to `vjp` for every other layer);
/// - `absoluteVJP`: that of the absolute twin `f_abs` (|weights|, |inputs|)
///   at `|x|`, `J_{f_abs}(|x|)^T s`.
///
/// What a backward pass does at the operation is its rule's
/// (`RelevanceRule`, looked up in the context's `RuleMap`); layers offer
/// fused kernels for the rules they make cheaper (`absLRPContributions`).
open class Operation: Module {
    /// True vector-Jacobian product, one tensor per input.
    open func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        preconditionFailure("\(type(of: self)) has no vjp")
    }

    /// VJP with normalisation statistics held constant; `vjp` unless overridden.
    open func detachedVJP(_ s: Tensor, _ record: Record) -> [Tensor] { vjp(s, record) }

    /// VJP of the absolute twin at `|x|`; `detachedVJP` unless overridden
    /// (right for layers whose Jacobian does not depend on the sign of x or weights).
    open func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] { detachedVJP(s, record) }

    /// `x_i * detachedVJP_i(S) + |x_i| * absoluteVJP_i(S)` before normalisation.
    /// Layers with a cheaper fused form override this.
    open func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        var d = detachedVJP(s, record)
        let a = absoluteVJP(s, record)
        return (0..<record.inputs.count).map { i in
            fusedContribution(record.inputs[i], detached: d.replaceAt(i), absolute: a[i])
        }
    }

    /// The absLRP contributions from the relevance `R` at the output:
    /// `absLRPContributions(S)` with `S = R / (|y| + 1e-9)`. Layers with a
    /// diagonal Jacobian override this with one fused pass over `R`, `x`, `y`.
    open func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        absLRPContributions(r.zipMap(record.output, AbsoluteRatio(epsilon: relevanceEpsilon)), record)
    }

    /// Applies this operation's rule in `context` to `r` at its output and
    /// returns the result at each input. `normalized: false` leaves a
    /// normalising rule's result unnormalised (see `BackwardContext.backward(through:_:)`).
    public func propagate(_ r: Tensor, _ context: BackwardContext, normalized: Bool = true) -> [Tensor] {
        let record = context.tape.record(for: self)
        precondition(r.shape == record.output.shape, "\(name): backward got \(r.shape), output was \(record.output.shape)")
        let rule = context.rules[self]
        defer { context.finished(with: self) }
        return normalized ? rule.propagate(r, at: self, record) : rule.propagateUnnormalized(r, at: self, record)
    }
}

/// A single-input leaf layer (Conv2d, Linear, BatchNorm2d, ReLU, ...).
open class Layer: Operation {
    /// The layer's function `y = f(x)`.
    open func apply(_ x: Tensor) -> Tensor { preconditionFailure("\(type(of: self)) has no apply") }

    override open func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let y = apply(x)
        context.save(self, inputs: [x], output: y)
        return y
    }

    override open func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        backward(r, context, normalized: true)
    }

    /// This layer's absLRP contribution as a `DiagonalPass` over `record`
    /// when its Jacobian is diagonal (ReLU, BatchNorm, identities), else nil.
    func absLRPDiagonalPass(_ record: Record) -> DiagonalPass? { nil }

    /// The diagonal pass (`absLRPDiagonalPass`) where there is one.
    override open func absLRPContributions(relevance r: Tensor, _ record: Record) -> [Tensor] {
        guard let pass = absLRPDiagonalPass(record) else { return super.absLRPContributions(relevance: r, record) }
        return [DiagonalPass.contribution(of: [pass], r)]
    }

    /// `backward`, leaving a normalising rule's result unnormalised when `normalized` is false.
    open func backward(_ r: Tensor, _ context: BackwardContext, normalized: Bool) -> Tensor {
        let result = propagate(r, context, normalized: normalized)[0]
        context.trace(name, result)
        return result
    }
}

/// A leaf operation of two inputs (residual add, position-embedding add,
/// the attention matrix products). Its relevance is traced as `name.0` and `name.1`.
open class BinaryOperation: Operation {
    /// The operation's function `y = f(a, b)`.
    open func apply(_ a: Tensor, _ b: Tensor) -> Tensor { preconditionFailure("\(type(of: self)) has no apply") }

    public func forward(_ a: Tensor, _ b: Tensor, _ context: ForwardContext) -> Tensor {
        let y = apply(a, b)
        context.save(self, inputs: [a, b], output: y)
        return y
    }

    /// Backward to both inputs.
    public func backward2(_ r: Tensor, _ context: BackwardContext) -> (Tensor, Tensor) {
        let result = propagate(r, context)
        context.trace(childName("0"), result[0])
        context.trace(childName("1"), result[1])
        return (result[0], result[1])
    }
}

extension Array where Element == Tensor {
    /// Takes element `i` out (leaving an empty tensor), so the caller holds
    /// its storage uniquely and can update it in place.
    mutating func replaceAt(_ i: Int) -> Tensor {
        let t = self[i]
        self[i] = Tensor(shape: [0])
        return t
    }
}

/// `r / (|y| + eps)`.
struct AbsoluteRatio: ElementwiseFunction2 {
    let epsilon: Float
    func callAsFunction(_ r: Float, _ y: Float) -> Float { r / (abs(y) + epsilon) }
}

/// `x * d + |x| * a`, elementwise: the absLRP contribution of one input.
func fusedContribution(_ x: Tensor, detached d: consuming Tensor, absolute a: Tensor) -> Tensor {
    var out = d
    out.storage.withUnsafeMutableBufferPointer { o in
        x.storage.withUnsafeBufferPointer { xs in
            a.storage.withUnsafeBufferPointer { av in
                let (op, xp, ap) = (o.baseAddress!, xs.baseAddress!, av.baseAddress!)
                parallelChunks(o.count) { range in
                    for j in range { op[j] = xp[j] * op[j] + abs(xp[j]) * ap[j] }
                }
            }
        }
    }
    return out
}

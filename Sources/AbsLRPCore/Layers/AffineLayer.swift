/// A layer `y = W x + b` (Conv2d, Linear). Every backward rule is a product
/// with a matrix derived from `W` (`WeightMatrix`), which the subclass
/// supplies as `backwardProducts` (and `forwardProduct` for the LRP rules
/// that run modified forwards, `Relevance/Rules/`); the VJPs live here:
///
///     vjp(g)          = W^T g
///     absoluteVJP(s)  = |W|^T s
///     contribution    = x (W^T s) + |x| (|W|^T s)     (any x)
///                     = x ((W + |W|)^T s)             (x >= 0: one product)
///
/// The input's sign is recorded in the forward (`Record.nonnegativeInput`);
/// inside VGG and ResNet every affine layer but the first sees a ReLU's
/// output, so absLRP costs one backward product per layer there instead of two.
public class AffineLayer: Layer {
    let weightMatrices = WeightMatrices()

    override public func stateDidChange() { weightMatrices.invalidate() }

    /// Whether the layer has a bias parameter.
    public var hasBias: Bool { state["bias"] != nil }

    /// Gives a layer built without a bias a zero bias (one per output row of
    /// `W`), as Zennit's BatchNorm merge does before folding a BatchNorm in.
    public func addZeroBias() {
        guard !hasBias else { return }
        registerState("bias", shape: [parameter("weight").shape[0]])
    }

    /// `M^T g` at the input's shape for each `M` in `matrices`.
    func backwardProducts(_ g: Tensor, inputShape: [Int], matrices: [WeightMatrix]) -> [Tensor] {
        preconditionFailure("\(type(of: self)) has no backward products")
    }

    /// `M x` without the bias, at the output's shape.
    func forwardProduct(_ x: Tensor, _ matrix: WeightMatrix) -> Tensor {
        preconditionFailure("\(type(of: self)) has no forward product")
    }

    /// `y + b`, with one value of `b` per output feature (Linear) or channel (Conv2d).
    func addingBias(_ y: Tensor, _ b: [Float]) -> Tensor {
        preconditionFailure("\(type(of: self)) has no bias layout")
    }

    /// The bias, zeros for a layer without one.
    var biasValues: [Float] {
        let rows = parameter("weight").shape[0]
        return state["bias"]?.storage ?? [Float](repeating: 0, count: rows)
    }

    /// `x * ((W + |W|)^T s)`, the contribution when `x >= 0`.
    func rectifiedContribution(_ s: Tensor, _ x: Tensor) -> Tensor {
        var g = backwardProducts(s, inputShape: x.shape, matrices: [.rectifiedSum])[0]
        g.multiplyElementwise(by: x)
        return g
    }

    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let y = apply(x)
        context.save(self, inputs: [x], output: y, nonnegativeInput: x.isNonnegative)
        return y
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        backwardProducts(g, inputShape: record.inputs[0].shape, matrices: [.weight])
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        backwardProducts(s, inputShape: record.inputs[0].shape, matrices: [.absolute])
    }

    override public func absLRPContributions(_ s: Tensor, _ record: Record) -> [Tensor] {
        let x = record.inputs[0]
        if record.nonnegativeInput { return [rectifiedContribution(s, x)] }
        var both = backwardProducts(s, inputShape: x.shape, matrices: [.weight, .absolute])
        return [fusedContribution(x, detached: both.replaceAt(0), absolute: both[1])]
    }
}

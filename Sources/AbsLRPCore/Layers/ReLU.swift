/// Rectified linear unit, `y = max(x, 0)`; its absolute twin at `|x|` is `|x|`.
///
/// - VJP: `g * [x > 0]`; twin VJP: `s * [|x| > 0]`.
/// - absLRP contribution: `x*[x>0]*S + |x|*[x != 0]*S`, i.e. `2x S` where
///   `x > 0` and `|x| S` elsewhere.
public final class ReLU: Layer {
    override public func apply(_ x: Tensor) -> Tensor { x.map(Rectifier()) }

    /// `apply`, recorded; the output is noted nonnegative (`ForwardContext.noteNonnegative`).
    override public func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        let y = super.forward(x, context)
        context.noteNonnegative(y)
        return y
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g.zipMap(record.inputs[0], Gate())] }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [s.zipMap(record.inputs[0], AbsoluteGate())]
    }

    /// `g [x > 0]`.
    private struct Gate: ElementwiseFunction2 {
        func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
    }

    /// `s [x != 0]`.
    private struct AbsoluteGate: ElementwiseFunction2 {
        func callAsFunction(_ s: Float, _ x: Float) -> Float { x != 0 ? s : 0 }
    }

    override func absLRPDiagonalPass(_ record: Record) -> DiagonalPass? { DiagonalPass(record, Rule()) }

    /// `x [x > 0] + |x| [x != 0]`: `2x` where `x > 0`, `|x|` elsewhere.
    private struct Rule: UniformDiagonalRule {
        func callAsFunction(_ x: Float) -> Float { x > 0 ? x + x : abs(x) }
    }

    /// `max(x, 0)` as this layer computes it (NaN gives 0); the fused
    /// inference kernels (`BatchNorm2d.rectified`, `ResidualAddition.rectifiedSum`) call it too.
    struct Rectifier: ElementwiseFunction {
        @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
    }

    /// `max(a + b, 0)`: a residual addition and this layer in one pass.
    struct RectifiedSum: ElementwiseFunction2 {
        @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { Rectifier()(a + b) }
    }
}

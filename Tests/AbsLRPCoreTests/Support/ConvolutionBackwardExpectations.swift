import XCTest
@testable import AbsLRPCore

/// Conv2d's three backward products absLRP uses against direct loops, on
/// `x` and on `max(x, 0)`: `W^T g` (vjp), `|W|^T g` (absolute VJP), within
/// `rtol`/`atol`, and, from `g` as a relevance `R` with
/// `S = R / (|y| + eps)` formed inside the products, the contributions
/// `x W^T S + |x| |W|^T S` (signed `x`) and `x (W + |W|)^T S` (`x >= 0`),
/// within rtol 1e-4 and 1e-5 of their largest magnitude. `transposed(g, M)`
/// is the direct loop of the convolution's input gradient with kernel `M`
/// (`KernelTests.naiveConvInputGradient` at the layer's geometry).
func assertBackwardProductsMatchDirectLoops(
    _ conv: Conv2d, input x: Tensor, gradient g: Tensor, transposed: (Tensor, Tensor) -> Tensor, rtol: Float, atol: Float,
    _ label: String, file: StaticString = #filePath, line: UInt = #line
) {
    let w = conv.parameter("weight"), record = recordOf(conv, x)
    assertClose(conv.vjp(g, record)[0], transposed(g, w), rtol: rtol, atol: atol, "W^T g, \(label)", file: file, line: line)
    assertClose(conv.absoluteVJP(g, record)[0], transposed(g, w.absolute), rtol: rtol, atol: atol, "|W|^T g, \(label)",
                file: file, line: line)
    for x in [x, x.map { max($0, 0) }] {
        let record = recordOf(conv, x)
        let s = Tensor(shape: g.shape) { j in g.storage[j] / (abs(record.output.storage[j]) + relevanceEpsilon) }
        let (d, a) = (transposed(s, w), transposed(s, w.absolute))
        let expected = Tensor(shape: x.shape) { j in
            Float(Double(x.storage[j]) * Double(d.storage[j]) + Double(abs(x.storage[j])) * Double(a.storage[j]))
        }
        let scale = expected.storage.map { abs($0) }.max() ?? 1
        assertClose(conv.absLRPContributions(relevance: g, record)[0], expected, rtol: 1e-4, atol: 1e-5 * scale,
                    "contributions, \(record.nonnegativeInput ? "x >= 0" : "signed x"), \(label)", file: file, line: line)
    }
}

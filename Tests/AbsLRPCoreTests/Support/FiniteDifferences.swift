import XCTest
import AbsLRPCore

/// Seeded test tensors.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    return Tensor(shape: shape) { _ in scale * rng.nextNormal() }
}

/// Checks a vector-Jacobian product against central finite differences of
/// the scalar `L(x) = <g, f(x)>`, accumulated in Double. `f` is evaluated in
/// float32, so the step is large (`h`) and the bound is relative to the
/// largest analytic component: `|analytic - numeric| <= tol * max|analytic| + tol`.
func assertVJPMatchesFiniteDifferences(
    _ label: String, at x: Tensor, cotangent g: Tensor, h: Float = 1e-2, tolerance: Double = 2e-3,
    function f: (Tensor) -> Tensor, vjp analytic: Tensor,
    file: StaticString = #filePath, line: UInt = #line
) {
    func loss(_ t: Tensor) -> Double {
        let y = f(t)
        precondition(y.shape == g.shape, "cotangent \(g.shape) vs output \(y.shape)")
        return zip(y.storage, g.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    XCTAssertEqual(analytic.shape, x.shape, "\(label): VJP shape", file: file, line: line)
    let scale = analytic.storage.map { Double(abs($0)) }.max() ?? 0
    var worst = 0.0, worstIndex = -1
    for i in 0..<x.count {
        var plus = x, minus = x
        plus.storage[i] += h
        minus.storage[i] -= h
        let numeric = (loss(plus) - loss(minus)) / Double(2 * h)
        let err = abs(numeric - Double(analytic.storage[i]))
        if err > worst { worst = err; worstIndex = i }
    }
    XCTAssertLessThanOrEqual(worst, tolerance * scale + tolerance,
                             "\(label): worst |vjp - finite difference| \(worst) at \(worstIndex) (scale \(scale))",
                             file: file, line: line)
}

/// Runs `layer` forward on `x` with a tape and returns its record.
func recordOf(_ layer: Layer, _ x: Tensor) -> Record {
    let tape = Tape()
    _ = layer.forward(x, ForwardContext(tape: tape))
    return tape.record(for: layer)
}

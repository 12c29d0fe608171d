import XCTest
@testable import AbsLRPCore

/// Conv2d's forward on oneDNN (`ConvolutionForwardPrimitive`, where
/// `ConvolutionShape.forwardAlgorithm` names an algorithm) against naive
/// loops in float64: Winograd on 3x3 stride-1 layers of small weights,
/// direct on larger weights and on a 7x7 stride-2 stem; with and without a
/// bias, with the derived matrices of the LRP rules (im2col where the
/// layer's own forward is Winograd); the same values on one thread (inside
/// `concurrently`) as on all cores; strided 3x3, 3-channel 3x3 and 1x1
/// layers stay on im2col + sgemm.
final class ConvolutionForwardTests: XCTestCase {
    private struct Case {
        let c, o, h, w, k, s, p: Int
        let bias: Bool
        let algorithm: ConvolutionShape.Algorithm?
    }

    private let cases = [
        Case(c: 16, o: 16, h: 28, w: 27, k: 3, s: 1, p: 1, bias: true, algorithm: .winograd),
        Case(c: 16, o: 32, h: 7, w: 9, k: 3, s: 1, p: 1, bias: false, algorithm: .winograd),
        // weights past WeightMatrices.cacheLimit
        Case(c: 128, o: 232, h: 6, w: 7, k: 3, s: 1, p: 1, bias: true, algorithm: .direct),
        Case(c: 3, o: 16, h: 40, w: 37, k: 7, s: 2, p: 3, bias: false, algorithm: .direct),
        Case(c: 16, o: 16, h: 15, w: 13, k: 3, s: 2, p: 1, bias: true, algorithm: nil),
        Case(c: 3, o: 16, h: 12, w: 12, k: 3, s: 1, p: 1, bias: true, algorithm: nil),
        Case(c: 16, o: 32, h: 14, w: 14, k: 1, s: 1, p: 0, bias: true, algorithm: nil),
    ]

    private func layer(_ t: Case, seed: UInt64) -> Conv2d {
        let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p, bias: t.bias)
        conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: seed, scale: 0.2))
        if t.bias { conv.setParameter("bias", randomTensor([t.o], seed: seed + 1)) }
        return conv
    }

    /// `|y - exact| <= 1e-5 * (|W| ⊛ |x| + |b|)` element by element, `exact`
    /// the float64 loops (written over the raw values: a debug build's
    /// tensor subscripts would take minutes).
    private func assertMatchesNaiveLoops(_ y: Tensor, _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ t: Case,
                                         file: StaticString = #filePath, line: UInt = #line) {
        let (n, oh, ow) = (x.shape[0], (t.h + 2 * t.p - t.k) / t.s + 1, (t.w + 2 * t.p - t.k) / t.s + 1)
        XCTAssertEqual(y.shape, [n, t.o, oh, ow], file: file, line: line)
        guard y.shape == [n, t.o, oh, ow] else { return }
        var over = 0
        x.storage.withUnsafeBufferPointer { xs in
            w.storage.withUnsafeBufferPointer { ws in
                for image in 0..<n { for o in 0..<t.o { for i in 0..<oh { for j in 0..<ow {
                    var exact = Double(b?.storage[o] ?? 0), scale = abs(exact)
                    for c in 0..<t.c { for u in 0..<t.k {
                        let row = i * t.s - t.p + u
                        guard row >= 0 && row < t.h else { continue }
                        for v in 0..<t.k {
                            let column = j * t.s - t.p + v
                            guard column >= 0 && column < t.w else { continue }
                            let term = Double(ws[((o * t.c + c) * t.k + u) * t.k + v]) * Double(xs[((image * t.c + c) * t.h + row) * t.w + column])
                            exact += term; scale += abs(term)
                        }
                    } }
                    if abs(Double(y.storage[((image * t.o + o) * oh + i) * ow + j]) - exact) > 1e-5 * scale { over += 1 }
                } } } }
            }
        }
        XCTAssertEqual(over, 0, "\(t.k)x\(t.k)/\(t.s) \(t.c)->\(t.o) on \(t.h)x\(t.w): \(over) values off", file: file, line: line)
    }

    func testForwardMatchesNaiveLoopsOnEveryPath() throws {
        for (i, t) in cases.enumerated() {
            let conv = layer(t, seed: 500 + UInt64(10 * i))
            let x = randomTensor([3, t.c, t.h, t.w], seed: 501 + UInt64(10 * i))
            let geo = conv.geometry(height: t.h, width: t.w)
            let calls = conv.forwardCalls(images: 3, geo, hasBias: t.bias)
            XCTAssertEqual(calls?.first?.primitive.shape.algorithm, t.algorithm, "\(t.k)x\(t.k)/\(t.s) on \(t.h)x\(t.w)")
            if let calls, t.algorithm == .winograd {
                XCTAssertTrue(calls[0].primitive.implementation.contains("wino"), calls[0].primitive.implementation)
            }
            let y = conv.apply(x)
            assertMatchesNaiveLoops(y, x, conv.parameter("weight"), t.bias ? conv.parameter("bias") : nil, t)
            // the derived matrices of the LRP rules' modified forwards (no bias)
            let m = conv.parameter("weight").map { WeightMatrix.absolute.transform($0) }
            XCTAssertEqual(conv.forwardCalls(images: 3, geo, .absolute, hasBias: false)?.first?.primitive.shape.algorithm,
                           t.algorithm == .winograd ? nil : t.algorithm)
            assertMatchesNaiveLoops(conv.forwardProduct(x, .absolute), x, m, nil, t)
        }
    }

    /// Each output value is accumulated by one thread in an order the shape
    /// fixes: one OpenMP thread per call (inside `concurrently`) gives the
    /// values of all cores, bit for bit, and so does a second forward.
    func testForwardValuesDoNotDependOnTheThreads() {
        for (i, t) in cases.enumerated() where t.algorithm != nil {
            let conv = layer(t, seed: 600 + UInt64(10 * i))
            for batch in [1, 3] {
                let x = randomTensor([batch, t.c, t.h, t.w], seed: 601 + UInt64(10 * i))
                let y = conv.apply(x)
                let (inside, _) = concurrently({ conv.apply(x) }, { 0 })
                XCTAssertEqual(inside.storage, y.storage, "\(t.k)x\(t.k)/\(t.s), batch \(batch): one thread")
                XCTAssertEqual(conv.apply(x).storage, y.storage, "\(t.k)x\(t.k)/\(t.s), batch \(batch): again")
            }
        }
    }
}

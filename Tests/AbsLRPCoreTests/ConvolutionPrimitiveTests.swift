import XCTest
@testable import AbsLRPCore

/// Conv2d's backward products on oneDNN (`ConvolutionPrimitive`, Winograd
/// F(4x4, 3x3) on 3x3 stride-1 layers with outputs of 28x28 and more)
/// against direct loops; the shapes that stay on im2col + sgemm (strided,
/// dilated, grouped, small outputs) are `KernelTests`'.
final class ConvolutionPrimitiveTests: XCTestCase {
    func testWinogradBackwardProductsMatchDirectLoops() throws {
        let cases: [(c: Int, o: Int, h: Int, w: Int)] = [(16, 16, 28, 28), (8, 16, 30, 29)]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: 3, padding: 1)
            conv.setParameter("weight", randomTensor([t.o, t.c, 3, 3], seed: UInt64(220 + i)))
            conv.setParameter("bias", randomTensor([t.o], seed: UInt64(230 + i)))
            let shape = ConvolutionShape(images: 2, channels: t.c, height: t.h, width: t.w, outChannels: t.o, outHeight: t.h,
                                         outWidth: t.w, kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1)
            XCTAssertEqual(shape.algorithm, .winograd)
            let primitive = try XCTUnwrap(ConvolutionPrimitive.cached(shape))
            XCTAssertTrue(primitive.implementation.hasPrefix("jit_wino"), primitive.implementation)
            func transposed(_ g: Tensor, _ m: Tensor) -> Tensor {
                KernelTests.naiveConvInputGradient(g, m, inputShape: [2, t.c, t.h, t.w], stride: 1, padding: 1)
            }
            let x = randomTensor([2, t.c, t.h, t.w], seed: UInt64(240 + i))
            let g = randomTensor(recordOf(conv, x).output.shape, seed: UInt64(250 + i))
            let scale = transposed(g, conv.parameter("weight").absolute).storage.map { abs($0) }.max() ?? 1
            assertBackwardProductsMatchDirectLoops(conv, input: x, gradient: g, transposed: transposed, rtol: 1e-4,
                                                   atol: 1e-5 * scale, "case \(i)")
        }
    }

    /// The same products inside `concurrently` (one OpenMP thread each, the
    /// two relevance passes' case) equal those outside, bit for bit.
    func testWinogradBackwardIsTheSameInsideConcurrentWork() {
        let conv = Conv2d(name: "c", inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1)
        conv.setParameter("weight", randomTensor([16, 16, 3, 3], seed: 261))
        let record = recordOf(conv, randomTensor([2, 16, 28, 28], seed: 262))
        let g = randomTensor(record.output.shape, seed: 263)
        let outside = conv.vjp(g, record)[0]
        let (a, b) = concurrently({ conv.vjp(g, record)[0] }, { conv.absoluteVJP(g, record)[0] })
        XCTAssertEqual(a, outside)
        XCTAssertEqual(b, conv.absoluteVJP(g, record)[0])
    }
}

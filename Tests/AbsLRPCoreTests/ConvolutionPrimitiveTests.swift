import XCTest
@testable import AbsLRPCore

/// Conv2d's backward products on oneDNN (`ConvolutionPrimitive`: Winograd
/// F(4x4, 3x3) on 3x3 stride-1 layers with outputs of 14x14 and more,
/// direct kernels on the other 1x1 and 3x3 ones, strided or small) against
/// direct loops; the shapes that stay on im2col + sgemm (other kernels,
/// dilated, grouped, and the plain ones past `Conv2d.scratchpadBudget`)
/// are `KernelTests`'.
final class ConvolutionPrimitiveTests: XCTestCase {
    func testBackwardProductsOnOneDNNMatchDirectLoops() throws {
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int, algorithm: ConvolutionShape.Algorithm)] = [
            (16, 16, 28, 28, 3, 1, 1, .winograd), (8, 16, 30, 29, 3, 1, 1, .winograd), (16, 16, 14, 14, 3, 1, 1, .winograd),
            (16, 8, 7, 7, 3, 1, 1, .direct), (8, 16, 13, 14, 3, 2, 1, .direct), (16, 32, 9, 9, 1, 1, 0, .direct),
            (32, 8, 10, 11, 1, 2, 0, .direct),
        ]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p)
            conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(220 + i)))
            conv.setParameter("bias", randomTensor([t.o], seed: UInt64(230 + i)))
            let calls = try XCTUnwrap(conv.convolutionCalls(images: 2, conv.geometry(height: t.h, width: t.w)),
                                      "case \(i) runs on oneDNN")
            XCTAssertEqual(calls[0].primitive.shape.algorithm, t.algorithm, "case \(i)")
            let implementation = calls[0].primitive.implementation
            XCTAssertEqual(implementation.hasPrefix("jit_wino"), t.algorithm == .winograd, implementation)
            func transposed(_ g: Tensor, _ m: Tensor) -> Tensor {
                KernelTests.naiveConvInputGradient(g, m, inputShape: [2, t.c, t.h, t.w], stride: t.s, padding: t.p)
            }
            let x = randomTensor([2, t.c, t.h, t.w], seed: UInt64(240 + i))
            let g = randomTensor(recordOf(conv, x).output.shape, seed: UInt64(250 + i))
            let scale = transposed(g, conv.parameter("weight").absolute).storage.map { abs($0) }.max() ?? 1
            assertBackwardProductsMatchDirectLoops(conv, input: x, gradient: g, transposed: transposed, rtol: 1e-4,
                                                   atol: 1e-5 * scale, "case \(i)")
        }
    }

    /// Weights above `WeightMatrices.cacheLimit` values (ResNet-50's
    /// 256-channel 3x3 layers) are moved into the primitive's layout and
    /// derived for each call instead of cached: a direct 3x3 and a 1x1 shape
    /// with such weights against direct loops.
    func testBackwardProductsOfWeightsTooLargeToCacheMatchDirectLoops() throws {
        let cases: [(c: Int, o: Int, h: Int, k: Int, p: Int)] = [(176, 176, 2, 3, 1), (520, 520, 1, 1, 0)]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, padding: t.p, bias: false)
            conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(270 + i)))
            XCTAssertGreaterThan(conv.parameter("weight").count, WeightMatrices.cacheLimit, "case \(i)")
            XCTAssertNotNil(conv.convolutionCalls(images: 1, conv.geometry(height: t.h, width: t.h)), "case \(i) runs on oneDNN")
            func transposed(_ g: Tensor, _ m: Tensor) -> Tensor {
                KernelTests.naiveConvInputGradient(g, m, inputShape: [1, t.c, t.h, t.h], stride: 1, padding: t.p)
            }
            let x = randomTensor([1, t.c, t.h, t.h], seed: UInt64(280 + i))
            let g = randomTensor(recordOf(conv, x).output.shape, seed: UInt64(290 + i))
            let scale = transposed(g, conv.parameter("weight").absolute).storage.map { abs($0) }.max() ?? 1
            assertBackwardProductsMatchDirectLoops(conv, input: x, gradient: g, transposed: transposed, rtol: 1e-4,
                                                   atol: 1e-5 * scale, "case \(i)")
        }
    }

    /// `Conv2d.scratchpadBudget` bounds the working memory of every kernel,
    /// not Winograd's alone: a Winograd, a direct 3x3 and a 1x1 shape run on
    /// oneDNN while their scratchpad fits the budget, and on im2col + sgemm
    /// (no calls) one float below it.
    func testScratchpadBudgetBoundsEveryKernel() throws {
        let saved = Conv2d.scratchpadBudget
        defer { Conv2d.scratchpadBudget = saved }
        let cases: [(c: Int, o: Int, h: Int, k: Int, s: Int, p: Int, implementation: String)] = [
            (16, 16, 28, 3, 1, 1, "jit_wino"), (16, 8, 7, 3, 1, 1, "jit:"), (8, 16, 13, 3, 2, 1, "jit:"),
            (16, 32, 9, 1, 1, 0, "jit_1x1"),
        ]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p)
            let geo = conv.geometry(height: t.h, width: t.h)
            Conv2d.scratchpadBudget = saved
            let calls = try XCTUnwrap(conv.convolutionCalls(images: 2, geo), "case \(i) runs on oneDNN")
            let primitive = calls[0].primitive
            XCTAssertTrue(primitive.implementation.hasPrefix(t.implementation), "case \(i): \(primitive.implementation)")
            Conv2d.scratchpadBudget = primitive.scratchpadFloats
            XCTAssertNotNil(conv.convolutionCalls(images: 2, geo), "case \(i) within the budget")
            Conv2d.scratchpadBudget = primitive.scratchpadFloats - 1
            XCTAssertNil(conv.convolutionCalls(images: 2, geo), "case \(i): scratchpad \(primitive.scratchpadFloats) floats")
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

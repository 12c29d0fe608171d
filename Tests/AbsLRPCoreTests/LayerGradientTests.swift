import XCTest
import AbsLRPCore

/// Every CNN layer's vector-Jacobian products against finite differences:
/// the true VJP (`vjp`) of `f` at `x`, and the absolute twin's VJP
/// (`absoluteVJP`) as the derivative of `f_abs` (|parameters|) at `|x|`.
/// (For these layers the detached VJP is the true one.)
final class LayerGradientTests: XCTestCase {
    /// Values kept away from 0 so that kinks (ReLU, |x|, max) are not crossed by the step.
    func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        randomTensor(shape, seed: seed).map { $0 + ($0 >= 0 ? 0.2 : -0.2) }
    }

    /// Checks `vjp` of `layer` at `x` and `absoluteVJP` against `twin` at `|x|`.
    func check(_ label: String, _ layer: Layer, twin: Layer, x: Tensor, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) {
        let record = recordOf(layer, x)
        let g = randomTensor(record.output.shape, seed: seed)
        assertVJPMatchesFiniteDifferences("\(label) vjp", at: x, cotangent: g, function: layer.apply,
                                          vjp: layer.vjp(g, record)[0], file: file, line: line)
        XCTAssertEqual(layer.detachedVJP(g, record)[0], layer.vjp(g, record)[0], "\(label): detached == true", file: file, line: line)
        assertVJPMatchesFiniteDifferences("\(label) twin", at: x.absolute, cotangent: g, function: twin.apply,
                                          vjp: layer.absoluteVJP(g, record)[0], file: file, line: line)
    }

    func testConv2d() {
        func make(_ abs: Bool) -> Conv2d {
            let c = Conv2d(name: "c", inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1)
            c.setParameter("weight", randomTensor([3, 2, 3, 3], seed: 1).map { abs ? Swift.abs($0) : $0 })
            c.setParameter("bias", randomTensor([3], seed: 2).map { abs ? Swift.abs($0) : $0 })
            return c
        }
        check("conv2d", make(false), twin: make(true), x: randomTensor([2, 2, 5, 4], seed: 3), seed: 4)
        let pointwise = Conv2d(name: "c", inChannels: 3, outChannels: 2, kernelSize: 1, bias: false)
        pointwise.setParameter("weight", randomTensor([2, 3, 1, 1], seed: 5))
        let pointwiseTwin = Conv2d(name: "c", inChannels: 3, outChannels: 2, kernelSize: 1, bias: false)
        pointwiseTwin.setParameter("weight", pointwise.parameter("weight").absolute)
        check("conv2d 1x1", pointwise, twin: pointwiseTwin, x: randomTensor([1, 3, 3, 2], seed: 6), seed: 7)
    }

    /// Dilated convolutions as timm's dilated ResNets use them (3x3, padding =
    /// dilation), strided, and with taps reaching past the image.
    func testDilatedConv2d() {
        for (i, t) in [(s: 1, p: 2, d: 2), (s: 2, p: 2, d: 2), (s: 1, p: 4, d: 4)].enumerated() {
            func make(_ abs: Bool) -> Conv2d {
                let c = Conv2d(name: "c", inChannels: 2, outChannels: 3, kernelSize: 3, stride: t.s, padding: t.p, dilation: t.d)
                c.setParameter("weight", randomTensor([3, 2, 3, 3], seed: UInt64(20 + i)).map { abs ? Swift.abs($0) : $0 })
                c.setParameter("bias", randomTensor([3], seed: UInt64(30 + i)).map { abs ? Swift.abs($0) : $0 })
                return c
            }
            check("conv2d stride \(t.s) dilation \(t.d)", make(false), twin: make(true),
                  x: randomTensor([2, 2, 6, 5], seed: UInt64(40 + i)), seed: UInt64(50 + i))
        }
    }

    /// Grouped convolutions (ResNeXt's 3x3 with `cardinality` groups, strided,
    /// dilated, and depthwise).
    func testGroupedConv2d() {
        for (i, t) in [(c: 4, o: 6, g: 2, s: 1, p: 1, d: 1), (c: 6, o: 3, g: 3, s: 2, p: 1, d: 1), (c: 4, o: 4, g: 4, s: 1, p: 2, d: 2)]
            .enumerated() {
            func make(_ abs: Bool) -> Conv2d {
                let c = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: 3, stride: t.s, padding: t.p,
                               dilation: t.d, groups: t.g)
                c.setParameter("weight", randomTensor([t.o, t.c / t.g, 3, 3], seed: UInt64(60 + i)).map { abs ? Swift.abs($0) : $0 })
                c.setParameter("bias", randomTensor([t.o], seed: UInt64(70 + i)).map { abs ? Swift.abs($0) : $0 })
                return c
            }
            check("conv2d \(t.g) groups stride \(t.s) dilation \(t.d)", make(false), twin: make(true),
                  x: randomTensor([2, t.c, 6, 5], seed: UInt64(80 + i)), seed: UInt64(90 + i))
        }
    }

    func testLinear() {
        func make(_ abs: Bool) -> Linear {
            let l = Linear(name: "fc", inFeatures: 5, outFeatures: 4)
            l.setParameter("weight", randomTensor([4, 5], seed: 8).map { abs ? Swift.abs($0) : $0 })
            l.setParameter("bias", randomTensor([4], seed: 9).map { abs ? Swift.abs($0) : $0 })
            return l
        }
        check("linear", make(false), twin: make(true), x: randomTensor([3, 5], seed: 10), seed: 11)
    }

    func testBatchNorm() {
        func make(_ abs: Bool) -> BatchNorm2d {
            let b = BatchNorm2d(name: "bn", channels: 2)
            b.setParameter("weight", Tensor(shape: [2], storage: abs ? [0.7, 1.3] : [-0.7, 1.3]))
            b.setParameter("bias", Tensor(shape: [2], storage: abs ? [0.2, 0.1] : [0.2, -0.1]))
            b.setParameter("running_mean", Tensor(shape: [2], storage: [0.3, -0.4]))
            b.setParameter("running_var", Tensor(shape: [2], storage: [0.8, 1.9]))
            return b
        }
        check("batchnorm", make(false), twin: make(true), x: randomTensor([2, 2, 3, 3], seed: 12), seed: 13)
    }

    func testElementwiseAndPoolingLayers() {
        let x = awayFromZero([2, 2, 6, 5], seed: 14)
        check("relu", ReLU(name: "r"), twin: ReLU(name: "r"), x: x, seed: 15)
        check("identity", Identity(name: "i"), twin: Identity(name: "i"), x: x, seed: 16)
        check("dropout", Dropout(name: "d"), twin: Dropout(name: "d"), x: x, seed: 17)
        check("flatten", Flatten(name: "f"), twin: Flatten(name: "f"), x: randomTensor([2, 3, 1, 1], seed: 18), seed: 19)
        check("maxpool 2x2", MaxPool2d(name: "m", kernelSize: 2, stride: 2), twin: MaxPool2d(name: "m", kernelSize: 2, stride: 2), x: x, seed: 20)
        check("maxpool 3x3/2 pad 1", MaxPool2d(name: "m", kernelSize: 3, stride: 2, padding: 1),
              twin: MaxPool2d(name: "m", kernelSize: 3, stride: 2, padding: 1), x: x, seed: 21)
        check("adaptive avg", AdaptiveAvgPool2d(name: "a", outputHeight: 4, outputWidth: 3),
              twin: AdaptiveAvgPool2d(name: "a", outputHeight: 4, outputWidth: 3), x: x, seed: 22)
        check("adaptive avg up", AdaptiveAvgPool2d(name: "a", outputHeight: 7, outputWidth: 7),
              twin: AdaptiveAvgPool2d(name: "a", outputHeight: 7, outputWidth: 7), x: x, seed: 23)
        // 2x2/2 with ceil mode on odd sizes: the last windows hang over the edge.
        let odd = awayFromZero([2, 2, 5, 3], seed: 26)
        check("avg pool 2x2/2 ceil", AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: true),
              twin: AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: true), x: odd, seed: 27)
    }

    /// The anti-aliasing pools of timm's `aa_layer`: BlurPool2d at strides 2
    /// and 1 (reflected taps on odd and even sizes, the smallest, 2x2), and
    /// the floor-mode 2x2 average pool.
    func testAntiAliasingPools() {
        for (i, t) in [(h: 5, w: 4, s: 2), (h: 6, w: 7, s: 2), (h: 2, w: 2, s: 2), (h: 4, w: 3, s: 1)].enumerated() {
            check("blur pool \(t.h)x\(t.w) stride \(t.s)", BlurPool2d(name: "aa", stride: t.s),
                  twin: BlurPool2d(name: "aa", stride: t.s), x: awayFromZero([2, 2, t.h, t.w], seed: UInt64(60 + i)),
                  seed: UInt64(70 + i))
        }
        check("avg pool 2x2/2 floor", AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: false),
              twin: AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: false), x: awayFromZero([2, 2, 5, 3], seed: 80),
              seed: 81)
    }

    /// GroupNorm with its statistics differentiated (as the reference's
    /// generic rule does), and its twin with |gamma|, |beta| at |x|.
    func testGroupNorm() {
        for (i, t) in [(c: 6, g: 3, h: 3, w: 4), (c: 4, g: 1, h: 2, w: 3), (c: 4, g: 4, h: 3, w: 3)].enumerated() {
            func make(_ abs: Bool) -> GroupNorm {
                let gn = GroupNorm(name: "gn", channels: t.c, groups: t.g)
                gn.setParameter("weight", randomTensor([t.c], seed: UInt64(90 + i)).map { abs ? Swift.abs($0) : $0 })
                gn.setParameter("bias", randomTensor([t.c], seed: UInt64(95 + i)).map { abs ? Swift.abs($0) : $0 })
                return gn
            }
            check("group norm \(t.c) channels \(t.g) groups", make(false), twin: make(true),
                  x: awayFromZero([2, t.c, t.h, t.w], seed: UInt64(100 + i)), seed: UInt64(110 + i))
        }
    }

    func testLayerNormWithDifferentiatedStatistics() {
        // norm_pre: the rules see the full Jacobian, and the twin's at |x| with |gamma|, |beta|.
        let gamma = randomTensor([5], seed: 30), beta = randomTensor([5], seed: 31)
        let layer = LayerNorm(name: "n", features: 5, eps: 1e-5, detachesStatistics: false)
        let twin = LayerNorm(name: "n", features: 5, eps: 1e-5, detachesStatistics: false)
        layer.setParameter("weight", gamma); layer.setParameter("bias", beta)
        twin.setParameter("weight", gamma.absolute); twin.setParameter("bias", beta.absolute)
        check("layernorm, statistics differentiated", layer, twin: twin, x: awayFromZero([2, 3, 5], seed: 32), seed: 33)
    }

    func testQuickGELU() {
        check("quick gelu", QuickGELU(name: "a"), twin: QuickGELU(name: "a"), x: awayFromZero([2, 3, 4], seed: 37), seed: 38)
    }

    func testLayerScale() {
        // The twin keeps gamma signed, as the reference's generic rule does.
        let layer = LayerScale(name: "ls", features: 4)
        layer.setParameter("gamma", randomTensor([4], seed: 34))
        check("layer scale", layer, twin: layer, x: awayFromZero([2, 3, 4], seed: 35), seed: 36)
    }

    func testResidualAddition() {
        let add = ResidualAddition(name: "add")
        let a = awayFromZero([2, 3], seed: 24), b = awayFromZero([2, 3], seed: 25)
        let tape = Tape()
        _ = add.forward(a, b, ForwardContext(tape: tape))
        let record = tape.record(for: add)
        let g = randomTensor([2, 3], seed: 26)
        let grads = add.vjp(g, record), twins = add.absoluteVJP(g, record)
        assertVJPMatchesFiniteDifferences("add a", at: a, cotangent: g, function: { $0 + b }, vjp: grads[0])
        assertVJPMatchesFiniteDifferences("add b", at: b, cotangent: g, function: { a + $0 }, vjp: grads[1])
        assertVJPMatchesFiniteDifferences("add twin a", at: a.absolute, cotangent: g, function: { $0 + b.absolute }, vjp: twins[0])
        assertVJPMatchesFiniteDifferences("add twin b", at: b.absolute, cotangent: g, function: { a.absolute + $0 }, vjp: twins[1])
    }
}

import XCTest
@testable import AbsLRPCore

/// Every kernel against a naive-loop version, element by element (relative
/// 1e-5), on odd shapes.
final class KernelTests: XCTestCase {
    /// Direct 7-loop convolution; tap `(u, v)` reads `(i*stride - padding + u*dilation, ...)`;
    /// with `groups`, output channel `oc` reads input channels `(oc / (O/G)) * C/G + ic`, `ic < C/G`.
    static func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, dilation: Int = 1,
                          groups: Int = 1) -> Tensor {
        let (n, h, wd) = (x.shape[0], x.shape[2], x.shape[3])
        let (o, c, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        precondition(c * groups == x.shape[1])
        let oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let ow = (wd + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        var y = Tensor(shape: [n, o, oh, ow])
        for bi in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var s = Double(b?.storage[oc] ?? 0)
            for ic in 0..<c { for u in 0..<kh { for v in 0..<kw {
                let yy = i * stride - padding + u * dilation, xx = j * stride - padding + v * dilation
                if yy >= 0 && yy < h && xx >= 0 && xx < wd {
                    s += Double(x[bi, oc / (o / groups) * c + ic, yy, xx]) * Double(w[oc, ic, u, v])
                }
            } } }
            y[bi, oc, i, j] = Float(s)
        } } } }
        return y
    }

    func testConv2dMatchesDirectConvolutionOnOddShapes() {
        // the last four dilated: timm's (3x3, padding = dilation), one with stride 2,
        // one whose taps reach past the whole (padded) image, one unpadded
        let cases: [(c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int, d: Int, bias: Bool)] = [
            (3, 5, 17, 13, 7, 2, 3, 1, true), (4, 6, 9, 11, 1, 1, 0, 1, false), (2, 3, 8, 5, 3, 1, 1, 1, true),
            (3, 4, 10, 10, 2, 2, 0, 1, true), (5, 2, 7, 9, 3, 2, 1, 1, false), (3, 3, 6, 7, 1, 2, 0, 1, true),
            (3, 4, 9, 7, 3, 1, 2, 2, true), (2, 3, 11, 10, 3, 2, 2, 2, false), (3, 2, 4, 5, 3, 1, 4, 4, true),
            (2, 3, 12, 9, 2, 1, 0, 3, true),
            // inputs smaller than the padded kernel (a ResNet stem on 1x1 and 2x1 images)
            (3, 4, 1, 1, 7, 2, 3, 1, false), (2, 3, 2, 1, 7, 2, 3, 1, true), (2, 2, 1, 2, 3, 2, 1, 1, false),
        ]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p,
                              dilation: t.d, bias: t.bias)
            conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(i)))
            if t.bias { conv.setParameter("bias", randomTensor([t.o], seed: UInt64(100 + i))) }
            let x = randomTensor([2, t.c, t.h, t.w], seed: UInt64(200 + i))
            let expected = Self.naiveConv(x, conv.parameter("weight"), t.bias ? conv.parameter("bias") : nil,
                                          stride: t.s, padding: t.p, dilation: t.d)
            assertClose(conv.apply(x), expected, rtol: 1e-5, atol: 1e-5, "conv case \(i)")
        }
    }

    /// Input gradient of a convolution by direct loops: `dx[c, y, x] = sum g[o, oy, ox] w[o, c, u, v]`
    /// over the windows that read `(y, x)` (and, with `groups`, over the output channels of `c`'s group).
    static func naiveConvInputGradient(_ g: Tensor, _ w: Tensor, inputShape: [Int], stride: Int, padding: Int,
                                       dilation: Int = 1, groups: Int = 1) -> Tensor {
        let (n, channels, h, wd) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (o, c, kh, kw, oh, ow) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3], g.shape[2], g.shape[3])
        var dx = [Double](repeating: 0, count: n * channels * h * wd)
        for bi in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            let gv = Double(g[bi, oc, i, j])
            for ic in 0..<c { for u in 0..<kh { for v in 0..<kw {
                let yy = i * stride - padding + u * dilation, xx = j * stride - padding + v * dilation
                if yy >= 0 && yy < h && xx >= 0 && xx < wd {
                    dx[((bi * channels + oc / (o / groups) * c + ic) * h + yy) * wd + xx] += gv * Double(w[oc, ic, u, v])
                }
            } } }
        } } } }
        return Tensor(shape: inputShape, storage: dx.map { Float($0) })
    }

    /// Runs `body` on each path a Conv2d backward product can take: oneDNN
    /// where `convolutionCalls` gives calls (the default
    /// `Conv2d.scratchpadBudget`), and im2col + sgemm for every shape (the
    /// budget below zero: the path of a plain 1x1 or 3x3 layer whose oneDNN
    /// scratchpad or weights are too large, as of every other layer).
    /// `body(onOneDNN)` is told which; the budget is restored after.
    static func onEachBackwardPath(_ body: (_ onOneDNN: Bool) -> Void) {
        let saved = Conv2d.scratchpadBudget
        defer { Conv2d.scratchpadBudget = saved }
        for onOneDNN in [true, false] {
            Conv2d.scratchpadBudget = onOneDNN ? saved : -1
            body(onOneDNN)
        }
    }

    /// Fails unless `conv`'s backward products on `images` images of `geo`
    /// take the path `onOneDNN` names (oneDNN for the plain 1x1 and 3x3
    /// shapes, im2col + sgemm for the others and with the budget below zero).
    static func assertBackwardPath(_ conv: Conv2d, images: Int, _ geo: ConvGeometry, onOneDNN: Bool, _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        let plain = conv.groups == 1 && conv.dilation == 1 && [1, 3].contains(conv.kernelSize)
        XCTAssertEqual(conv.convolutionCalls(images: images, geo) != nil, onOneDNN && plain,
                       "on oneDNN, \(label)", file: file, line: line)
    }

    func testConv2dCutInSlabsOrGroupsOfImagesMatchesDirectLoops() {
        // Column budgets that cut these shapes in slabs of 1 or 3 output rows,
        // or put 1 or 2 images side by side, in both directions; the plain
        // 1x1 and 3x3 backward products (W^T g, |W|^T g and absLRP's
        // contributions, strided ones included) on oneDNN and on im2col + sgemm.
        let saved = Conv2d.columnBudget
        defer { Conv2d.columnBudget = saved }
        let cases: [(k: Int, s: Int, p: Int, d: Int)] = [(3, 1, 1, 1), (3, 2, 1, 1), (1, 1, 0, 1), (1, 2, 0, 1), (3, 1, 2, 2), (3, 2, 3, 3)]
        Self.onEachBackwardPath { onOneDNN in
            for budget in [40, 200, 2000, 5000] {
                Conv2d.columnBudget = budget
                for (i, t) in cases.enumerated() {
                    let conv = Conv2d(name: "c", inChannels: 3, outChannels: 4, kernelSize: t.k, stride: t.s, padding: t.p,
                                      dilation: t.d)
                    conv.setParameter("weight", randomTensor([4, 3, t.k, t.k], seed: UInt64(40 + i)))
                    conv.setParameter("bias", randomTensor([4], seed: UInt64(50 + i)))
                    let x = randomTensor([3, 3, 11, 13], seed: UInt64(60 + i))
                    let y = conv.apply(x), label = "budget \(budget), case \(i), on oneDNN \(onOneDNN)"
                    Self.assertBackwardPath(conv, images: 3, conv.geometry(height: 11, width: 13), onOneDNN: onOneDNN, label)
                    assertClose(y, Self.naiveConv(x, conv.parameter("weight"), conv.parameter("bias"), stride: t.s, padding: t.p,
                                                  dilation: t.d),
                                rtol: 1e-5, atol: 1e-5, "forward, \(label)")
                    let g = randomTensor(y.shape, seed: UInt64(70 + i))
                    func transposed(_ g: Tensor, _ m: Tensor) -> Tensor {
                        Self.naiveConvInputGradient(g, m, inputShape: x.shape, stride: t.s, padding: t.p, dilation: t.d)
                    }
                    assertBackwardProductsMatchDirectLoops(conv, input: x, gradient: g, transposed: transposed, rtol: 1e-5,
                                                           atol: 1e-5, label)
                }
            }
        }
    }

    /// The stride-1 backward products, which for "same" convolutions
    /// (`2p = d (k - 1)`) with `O <= C` and a cached weight run as a
    /// convolution of the gradient with the flipped, channel-transposed
    /// kernel (and otherwise, 1x1 kernels, unpadded or overpadded ones,
    /// `O > C`, as `col2im(M^T g)`), against direct loops
    /// for the three matrices absLRP uses: `W^T g` (vjp), `|W|^T g` (absolute
    /// VJP) and, from a relevance `R` with `S = R / (|y| + eps)` formed inside
    /// the products, `x W^T S + |x| |W|^T S` (signed `x`) and `x (W + |W|)^T S`
    /// (`x >= 0`). Kernels 1/2/3/7, paddings 0 up to past `d (k - 1)`,
    /// dilations 1-3, groups, 3 images; budgets that cut the column matrix
    /// in slabs of 1 or a few output rows (halo rows at both ends) or put
    /// 1 to 3 images side by side; the plain 1x1 and 3x3 ones on oneDNN and
    /// on im2col + sgemm (`onEachBackwardPath`).
    func testStrideOneBackwardProductsMatchDirectLoops() {
        let saved = Conv2d.columnBudget
        defer { Conv2d.columnBudget = saved }
        let cases: [(c: Int, o: Int, g: Int, h: Int, w: Int, k: Int, p: Int, d: Int)] = [
            (4, 3, 1, 9, 11, 3, 1, 1), (4, 3, 1, 8, 7, 3, 0, 1), (3, 2, 1, 12, 10, 7, 3, 1), (3, 2, 1, 9, 8, 7, 0, 1),
            (3, 5, 1, 7, 9, 1, 0, 1), (2, 3, 1, 6, 5, 1, 1, 1), (3, 3, 1, 8, 9, 2, 0, 1), (2, 4, 1, 7, 6, 3, 3, 1),
            (4, 4, 1, 10, 9, 3, 2, 2), (2, 3, 1, 11, 12, 3, 0, 3), (6, 4, 2, 8, 9, 3, 1, 1), (6, 3, 3, 7, 8, 3, 2, 2),
            (3, 3, 1, 9, 10, 3, 3, 3), (3, 2, 1, 8, 8, 5, 2, 1), (2, 4, 1, 7, 8, 3, 1, 1),
        ]
        Self.onEachBackwardPath { onOneDNN in
            for budget in [40, 200, 2000, 1 << 20] {
                Conv2d.columnBudget = budget
                for (i, t) in cases.enumerated() {
                    let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, padding: t.p, dilation: t.d,
                                      groups: t.g)
                    conv.setParameter("weight", randomTensor([t.o, t.c / t.g, t.k, t.k], seed: UInt64(120 + i)))
                    conv.setParameter("bias", randomTensor([t.o], seed: UInt64(130 + i)))
                    func transposed(_ g: Tensor, _ m: Tensor) -> Tensor {
                        Self.naiveConvInputGradient(g, m, inputShape: [3, t.c, t.h, t.w], stride: 1, padding: t.p, dilation: t.d,
                                                    groups: t.g)
                    }
                    let label = "budget \(budget), case \(i), on oneDNN \(onOneDNN)"
                    Self.assertBackwardPath(conv, images: 3, conv.geometry(height: t.h, width: t.w), onOneDNN: onOneDNN, label)
                    let x = randomTensor([3, t.c, t.h, t.w], seed: UInt64(140 + i))
                    let g = randomTensor(recordOf(conv, x).output.shape, seed: UInt64(150 + i))
                    assertBackwardProductsMatchDirectLoops(conv, input: x, gradient: g, transposed: transposed, rtol: 1e-5,
                                                           atol: 1e-5, label)
                }
            }
        }
    }

    /// Grouped convolutions (ResNeXt's `cardinality`; depthwise when G = C):
    /// forward, input gradient and the absolute twin's input gradient against
    /// direct loops, whole, in slabs of output rows and with images side by side.
    func testGroupedConv2dMatchesDirectLoops() {
        let saved = Conv2d.columnBudget
        defer { Conv2d.columnBudget = saved }
        let cases: [(c: Int, o: Int, g: Int, k: Int, s: Int, p: Int, d: Int, bias: Bool)] = [
            (4, 6, 2, 3, 1, 1, 1, true), (6, 6, 3, 3, 2, 1, 1, false), (8, 4, 4, 1, 1, 0, 1, true), (6, 9, 3, 1, 2, 0, 1, false),
            (4, 8, 4, 3, 1, 2, 2, true), (3, 6, 3, 3, 2, 3, 3, false), (4, 4, 4, 2, 2, 0, 1, true),
        ]
        for budget in [40, 300, 1 << 20] {
            Conv2d.columnBudget = budget
            for (i, t) in cases.enumerated() {
                let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p,
                                  dilation: t.d, groups: t.g, bias: t.bias)
                XCTAssertEqual(conv.parameter("weight").shape, [t.o, t.c / t.g, t.k, t.k])
                conv.setParameter("weight", randomTensor([t.o, t.c / t.g, t.k, t.k], seed: UInt64(80 + i)))
                if t.bias { conv.setParameter("bias", randomTensor([t.o], seed: UInt64(90 + i))) }
                let x = randomTensor([3, t.c, 9, 11], seed: UInt64(100 + i))
                let (w, label) = (conv.parameter("weight"), "budget \(budget), case \(i)")
                let y = conv.apply(x)
                assertClose(y, Self.naiveConv(x, w, t.bias ? conv.parameter("bias") : nil, stride: t.s, padding: t.p,
                                              dilation: t.d, groups: t.g),
                            rtol: 1e-5, atol: 1e-5, "forward, \(label)")
                let g = randomTensor(y.shape, seed: UInt64(110 + i)), record = recordOf(conv, x)
                assertClose(conv.vjp(g, record)[0],
                            Self.naiveConvInputGradient(g, w, inputShape: x.shape, stride: t.s, padding: t.p, dilation: t.d,
                                                        groups: t.g),
                            rtol: 1e-5, atol: 1e-5, "input gradient, \(label)")
                assertClose(conv.absoluteVJP(g, record)[0],
                            Self.naiveConvInputGradient(g, w.absolute, inputShape: x.shape, stride: t.s, padding: t.p,
                                                        dilation: t.d, groups: t.g),
                            rtol: 1e-5, atol: 1e-5, "absolute input gradient, \(label)")
            }
        }
    }

    /// A grouped weight too large to cache (3000 x 3000 values) derives `|W|`
    /// in blocks of 1398 rows, which end inside the groups of 1500 output
    /// channels: each group's product must still start at its own first row.
    func testGroupedConv2dAbsoluteTwinDerivedInBlocksThatCrossGroups() {
        let (groupIn, groupOut, pixels) = (3000, 1500, 2)
        let conv = Conv2d(name: "c", inChannels: 2 * groupIn, outChannels: 2 * groupOut, kernelSize: 1, groups: 2, bias: false)
        conv.setParameter("weight", randomTensor([2 * groupOut, groupIn, 1, 1], seed: 120))
        let x = randomTensor([1, 2 * groupIn, 1, pixels], seed: 121)
        let record = recordOf(conv, x)
        let s = randomTensor(record.output.shape, seed: 122)
        // dx[c, p] = sum over the output channels o of c's group of s[o, p] |w[o, c - group * groupIn]|
        var expected = [Double](repeating: 0, count: x.count)
        conv.parameter("weight").storage.withUnsafeBufferPointer { w in
            s.storage.withUnsafeBufferPointer { s in
                for o in 0..<(2 * groupOut) {
                    let group = o / groupOut
                    for ic in 0..<groupIn {
                        let a = Double(abs(w[o * groupIn + ic])), c = group * groupIn + ic
                        for p in 0..<pixels { expected[c * pixels + p] += a * Double(s[o * pixels + p]) }
                    }
                }
            }
        }
        assertClose(conv.absoluteVJP(s, record)[0], Tensor(shape: x.shape, storage: expected.map { Float($0) }),
                    rtol: 1e-4, atol: 1e-4, "absolute input gradient")
    }

    func testCol2imIsTheAdjointOfIm2col() {
        for (i, g) in [ConvGeometry(channels: 3, height: 11, width: 7, kernelHeight: 7, kernelWidth: 7, stride: 2, padding: 3),
                       ConvGeometry(channels: 2, height: 5, width: 6, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1),
                       ConvGeometry(channels: 4, height: 8, width: 8, kernelHeight: 2, kernelWidth: 2, stride: 2, padding: 0),
                       ConvGeometry(channels: 2, height: 7, width: 9, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 2, dilation: 2),
                       ConvGeometry(channels: 3, height: 10, width: 8, kernelHeight: 3, kernelWidth: 2, stride: 2, padding: 3, dilation: 3)]
                .enumerated() {
            let x = randomTensor([g.channels, g.height, g.width], seed: UInt64(i))
            let c = randomTensor([g.patchSize, g.outputPixels], seed: UInt64(50 + i))
            var cols = [Float](repeating: 0, count: g.patchSize * g.outputPixels)
            var back = [Float](repeating: 0, count: x.count)
            x.storage.withUnsafeBufferPointer { im2col($0.baseAddress!, g, &cols) }
            c.storage.withUnsafeBufferPointer { col2im($0.baseAddress!, g, &back) }
            let lhs = zip(cols, c.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let rhs = zip(x.storage, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "geometry \(i)")
        }
    }

    func testIm2colMatchesNaiveGather() {
        for (stride, dilation) in [(2, 1), (1, 2), (2, 2)] {
            let g = ConvGeometry(channels: 2, height: 9, width: 6, kernelHeight: 3, kernelWidth: 5, stride: stride, padding: 2,
                                 dilation: dilation)
            XCTAssertGreaterThan(g.outputPixels, 0)
            let x = randomTensor([2, 9, 6], seed: 3)
            var cols = [Float](repeating: .nan, count: g.patchSize * g.outputPixels)
            x.storage.withUnsafeBufferPointer { im2col($0.baseAddress!, g, &cols) }
            for c in 0..<2 { for i in 0..<3 { for j in 0..<5 { for oy in 0..<g.outputHeight { for ox in 0..<g.outputWidth {
                let y = oy * stride - 2 + i * dilation, xx = ox * stride - 2 + j * dilation
                let expected: Float = (y >= 0 && y < 9 && xx >= 0 && xx < 6) ? x[c, y, xx] : 0
                XCTAssertEqual(cols[((c * 3 + i) * 5 + j) * g.outputPixels + oy * g.outputWidth + ox], expected,
                               "stride \(stride) dilation \(dilation)")
            } } } } }
        }
    }

    /// `nn.Conv2d`'s output size, `floor((H + 2p - d(k - 1) - 1) / s) + 1`, and
    /// no output where the dilated window is larger than the padded input.
    func testConvGeometryOutputSizeWithDilation() {
        let g = ConvGeometry(channels: 1, height: 4, width: 5, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 4, dilation: 4)
        XCTAssertEqual([g.outputHeight, g.outputWidth], [4, 5])
        let strided = ConvGeometry(channels: 1, height: 10, width: 11, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 0, dilation: 3)
        XCTAssertEqual([strided.outputHeight, strided.outputWidth], [2, 3])
        let tooLarge = ConvGeometry(channels: 1, height: 4, width: 4, kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 0, dilation: 2)
        XCTAssertEqual(tooLarge.outputPixels, 0)
    }

    func testSgemmMatchesNaiveProductWithTransposesAndStrides() {
        let (m, n, k) = (5, 7, 3)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor([ta ? k : m, ta ? m : k], seed: 1), b = randomTensor([tb ? n : k, tb ? k : n], seed: 2)
            var c = [Float](repeating: 1, count: m * n)
            a.storage.withUnsafeBufferPointer { ap in b.storage.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 2, a: ap.baseAddress!, b: bp.baseAddress!,
                      beta: 0.5, c: cp.baseAddress!)
            } } }
            for i in 0..<m { for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += (ta ? a[p, i] : a[i, p]) * (tb ? b[j, p] : b[p, j]) }
                XCTAssertEqual(c[i * n + j], 2 * s + 0.5, accuracy: 1e-5 * max(1, abs(2 * s)), "ta \(ta) tb \(tb)")
            } }
        }
    }

    func testLinearMatchesNaiveLoop() {
        let lin = Linear(name: "fc", inFeatures: 13, outFeatures: 7)
        lin.setParameter("weight", randomTensor([7, 13], seed: 4))
        lin.setParameter("bias", randomTensor([7], seed: 5))
        let x = randomTensor([3, 2, 13], seed: 6)
        let y = lin.apply(x)
        XCTAssertEqual(y.shape, [3, 2, 7])
        var expected = Tensor(shape: [3, 2, 7])
        for r in 0..<6 { for o in 0..<7 {
            var s = Double(lin.parameter("bias").storage[o])
            for i in 0..<13 { s += Double(x.storage[r * 13 + i]) * Double(lin.parameter("weight")[o, i]) }
            expected.storage[r * 7 + o] = Float(s)
        } }
        assertClose(y, expected, rtol: 1e-5, atol: 1e-6, "linear")
    }

    /// The oneDNN matmul of `Linear`'s forward, with and without bias, on one
    /// OpenMP thread (inside `concurrently`), against a naive loop; and
    /// `Linear` on 1 to 10 rows (parts of unequal rows; the single row on OpenBLAS).
    func testMatmulPrimitiveMatchesNaiveLoop() throws {
        let (m, k, n) = (11, 37, 19)
        let x = randomTensor([m, k], seed: 7), w = randomTensor([n, k], seed: 8), b = randomTensor([n], seed: 9)
        for hasBias in [false, true] {
            var expected = Tensor(shape: [m, n])
            for i in 0..<m { for o in 0..<n {
                var s = hasBias ? Double(b.storage[o]) : 0
                for p in 0..<k { s += Double(x[i, p]) * Double(w[o, p]) }
                expected[i, o] = Float(s)
            } }
            func product() throws -> Tensor {
                let shape = MatmulPrimitive.Shape(rows: m, inFeatures: k, outFeatures: n, hasBias: hasBias)
                let primitive = try XCTUnwrap(MatmulPrimitive.cached(shape), "no oneDNN matmul for \(shape)")
                return Tensor(shape: [m, n]) { y in
                    x.storage.withUnsafeBufferPointer { xs in w.storage.withUnsafeBufferPointer { ws in b.storage.withUnsafeBufferPointer { bs in
                        primitive.run(xs.baseAddress!, weight: ws.baseAddress!, bias: hasBias ? bs.baseAddress! : nil, into: y)
                    } } }
                }
            }
            let (inside, other) = concurrently({ try? product() }, { 0 })
            XCTAssertEqual(other, 0)
            assertClose(try XCTUnwrap(inside), expected, rtol: 1e-5, atol: 1e-6, "bias \(hasBias)")
        }
        let lin = Linear(name: "fc", inFeatures: k, outFeatures: n, bias: false)
        lin.setParameter("weight", w)
        for batch in [1, 2, 3, 5] {
            let xb = randomTensor([batch, batch == 1 ? 1 : 2, k], seed: UInt64(10 + batch))
            var expected = Tensor(shape: xb.shape.dropLast() + [n])
            for r in 0..<(xb.count / k) { for o in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(xb.storage[r * k + p]) * Double(w[o, p]) }
                expected.storage[r * n + o] = Float(s)
            } }
            assertClose(lin.apply(xb), expected, rtol: 1e-5, atol: 1e-6, "linear without bias, batch \(batch)")
        }
    }

    func testMaxPoolMatchesNaiveLoopIncludingPaddingAndTies() {
        let pool = MaxPool2d(name: "p", kernelSize: 3, stride: 2, padding: 1)
        var x = randomTensor([2, 3, 7, 6], seed: 7)
        x.storage[0] = 5; x.storage[1] = 5  // a tie inside the first window
        let y = pool.apply(x)
        XCTAssertEqual(y.shape, [2, 3, 4, 3])
        for b in 0..<2 { for c in 0..<3 { for i in 0..<4 { for j in 0..<3 {
            var m = -Float.infinity
            for u in 0..<3 { for v in 0..<3 {
                let yy = i * 2 - 1 + u, xx = j * 2 - 1 + v
                if yy >= 0 && yy < 7 && xx >= 0 && xx < 6 { m = max(m, x[b, c, yy, xx]) }
            } }
            XCTAssertEqual(y[b, c, i, j], m)
        } } } }
        // a tie routes the whole gradient to the first index (row-major), as PyTorch does
        let vggPool = MaxPool2d(name: "p", kernelSize: 2, stride: 2)
        var tied = randomTensor([1, 1, 4, 4], seed: 13)
        tied.storage[0] = 5; tied.storage[1] = 5; tied.storage[4] = 5
        let g = vggPool.vjp(Tensor(shape: [1, 1, 2, 2], repeating: 1), recordOf(vggPool, tied))[0]
        XCTAssertEqual(Array(g.storage[0..<2]) + [g.storage[4]], [1, 0, 0])
    }

    /// Max pooling's windows by the definition: the argmax of `x` and of
    /// `|x|` per window (first in row-major order, a NaN winning), and what
    /// each routing accumulates there.
    static func naiveMaxPool(_ x: Tensor, kernel k: Int, stride: Int, padding: Int, s: Tensor?,
                             _ route: (_ index: Int, _ absoluteIndex: Int, _ window: Int, _ out: inout Tensor) -> Void)
        -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1
        var out = s == nil ? Tensor(shape: [b, c, oh, ow]) : Tensor(shape: x.shape)
        for plane in 0..<(b * c) { for oy in 0..<oh { for ox in 0..<ow {
            var index = -1, absoluteIndex = -1
            for i in 0..<k { for j in 0..<k {
                let yy = oy * stride - padding + i, xx = ox * stride - padding + j
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                let q = plane * h * w + yy * w + xx, v = x.storage[q]
                if index < 0 || v > x.storage[index] || v.isNaN { index = q }
                if absoluteIndex < 0 || abs(v) > abs(x.storage[absoluteIndex]) || v.isNaN { absoluteIndex = q }
            } }
            route(index, absoluteIndex, plane * oh * ow + oy * ow + ox, &out)
        } } }
        return out
    }

    func testMaxPoolKernelsMatchNaiveLoopsOnBothPathsWithTiesAndNaNs() {
        func bits(_ t: Tensor) -> [UInt32] { t.storage.map(\.bitPattern) }
        // (kernel, stride, padding): the vectorised 2x2 path and the general one
        for (k, step, padding) in [(2, 2, 0), (3, 2, 1), (3, 2, 0), (2, 1, 0), (3, 3, 1)] {
            for (h, w) in [(8, 8), (7, 6), (9, 11), (5, 3), (3, 35)] where h + 2 * padding >= k && w + 2 * padding >= k {
                let label = "k \(k) stride \(step) padding \(padding), \(h)x\(w)"
                var x = Tensor(shape: [2, 3, h, w]) { i in Float((i * 7919) % 23) - 11 }  // ties and both signs
                for i in stride(from: 5, to: x.count, by: 17) { x.storage[i] = .nan }
                for i in stride(from: 0, to: x.count, by: 13) { x.storage[i] = -0.0 }
                let pool = MaxPool2d(name: "p", kernelSize: k, stride: step, padding: padding)
                let record = recordOf(pool, x)
                let forward = Self.naiveMaxPool(x, kernel: k, stride: step, padding: padding, s: nil) { i, _, o, out in
                    out.storage[o] = x.storage[i]
                }
                XCTAssertEqual(bits(record.output), bits(forward), label)
                let r = Tensor(shape: record.output.shape) { i in Float((i * 31) % 19) - 9.5 }
                let ratio = r.zipMap(record.output) { $0 / (abs($1) + relevanceEpsilon) }
                let naive = { (s: Tensor, body: @escaping (Int, Int, Float, inout Tensor) -> Void) in
                    Self.naiveMaxPool(x, kernel: k, stride: step, padding: padding, s: s) { i, a, o, out in
                        body(i, a, s.storage[o], &out)
                    }
                }
                XCTAssertEqual(bits(pool.vjp(r, record)[0]), bits(naive(r) { i, _, s, out in out.storage[i] += s }), label)
                XCTAssertEqual(bits(pool.absoluteVJP(r, record)[0]), bits(naive(r) { _, a, s, out in out.storage[a] += s }),
                               label)
                let contributions = { (s: Tensor) in
                    naive(s) { i, a, s, out in
                        out.storage[i] += x.storage[i] * s
                        out.storage[a] += abs(x.storage[a]) * s
                    }
                }
                XCTAssertEqual(bits(pool.absLRPContributions(r, record)[0]), bits(contributions(r)), label)
                XCTAssertEqual(bits(pool.absLRPContributions(relevance: r, record)[0]), bits(contributions(ratio)), label)
            }
        }
    }

    func testAdaptiveAveragePoolMatchesPyTorchWindows() {
        // 5 -> 3: windows [0,2), [1,4), [3,5) as PyTorch's start=floor, end=ceil
        let pool = AdaptiveAvgPool2d(name: "p", outputHeight: 3, outputWidth: 2)
        let x = randomTensor([1, 2, 5, 4], seed: 8)
        let y = pool.apply(x)
        let rows = [0..<2, 1..<4, 3..<5], cols = [0..<2, 2..<4]
        for c in 0..<2 { for i in 0..<3 { for j in 0..<2 {
            var s: Float = 0
            for u in rows[i] { for v in cols[j] { s += x[0, c, u, v] } }
            XCTAssertEqual(y[0, c, i, j], s / Float(rows[i].count * cols[j].count), accuracy: 1e-6)
        } } }
    }

    func testAvgPoolMatchesPyTorchsCeilModeWithoutPadding() {
        // nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False) on 3x5:
        // output 2x3, the last row and column average only the pixels inside.
        let x = Tensor(shape: [1, 1, 3, 5], storage: (0..<15).map(Float.init))
        let y = AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: true).apply(x)
        XCTAssertEqual(y.shape, [1, 1, 2, 3])
        XCTAssertEqual(y.storage, [3, 5, 6.5, 10.5, 12.5, 14])
    }

    func testAvgPoolWithoutCeilModeDropsTheWindowsThatHangOver() {
        // nn.AvgPool2d(2) on 3x5: output 1x2, the last row and column unread.
        let x = Tensor(shape: [1, 1, 3, 5], storage: (0..<15).map(Float.init))
        let y = AvgPool2d(name: "p", kernelSize: 2, stride: 2, ceilMode: false).apply(x)
        XCTAssertEqual(y.shape, [1, 1, 1, 2])
        XCTAssertEqual(y.storage, [3, 5])
        XCTAssertEqual(AvgPool2d(name: "p", kernelSize: 1, stride: 1, ceilMode: false).apply(x), x)
    }

    /// timm's BlurPool2d by its definition: `F.pad(x, [1, 1, 1, 1], mode="reflect")`
    /// written out as a padded copy, then a depthwise 3x3 convolution with
    /// `[1, 2, 1]^T [1, 2, 1] / 16` at the stride.
    func testBlurPoolMatchesReflectPaddingAndBinomialFilter() {
        let f: [Double] = [1, 2, 1]
        for (h, w, stride) in [(5, 7, 2), (6, 4, 2), (2, 3, 2), (2, 2, 1), (5, 6, 1), (9, 8, 3)] {
            let x = randomTensor([2, 3, h, w], seed: UInt64(h * 10 + w))
            var padded = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: w + 2), count: h + 2),
                                      count: 6)
            for plane in 0..<6 { for i in 0..<(h + 2) { for j in 0..<(w + 2) {
                // PyTorch's reflect: -1 -> 1, n -> n - 2 (the edge pixel itself is not repeated)
                let y = i == 0 ? 1 : (i == h + 1 ? h - 2 : i - 1), xx = j == 0 ? 1 : (j == w + 1 ? w - 2 : j - 1)
                padded[plane][i][j] = Double(x.storage[(plane * h + y) * w + xx])
            } } }
            let (oh, ow) = ((h - 1) / stride + 1, (w - 1) / stride + 1)
            var expected = [Float]()
            for plane in 0..<6 { for oy in 0..<oh { for ox in 0..<ow {
                var s = 0.0
                for i in 0..<3 { for j in 0..<3 { s += f[i] * f[j] / 16 * padded[plane][oy * stride + i][ox * stride + j] } }
                expected.append(Float(s))
            } } }
            assertClose(BlurPool2d(name: "aa", stride: stride).apply(x), Tensor(shape: [2, 3, oh, ow], storage: expected),
                        rtol: 1e-5, atol: 1e-6, "\(h)x\(w) stride \(stride)")
        }
    }

    /// nn.GroupNorm's formula by loops: per image and group of C/G channels,
    /// mean and biased variance over those channels' pixels.
    func testGroupNormMatchesFormula() {
        for (c, groups, h, w) in [(6, 3, 4, 5), (4, 1, 3, 3), (4, 4, 2, 3), (64, 32, 1, 2)] {
            let gn = GroupNorm(name: "gn", channels: c, groups: groups)
            gn.setParameter("weight", randomTensor([c], seed: 12))
            gn.setParameter("bias", randomTensor([c], seed: 13))
            let x = randomTensor([2, c, h, w], seed: UInt64(c + h))
            let y = gn.apply(x), per = c / groups
            for b in 0..<2 { for g in 0..<groups {
                var values: [Double] = []
                for ch in (g * per)..<((g + 1) * per) { for i in 0..<h { for j in 0..<w { values.append(Double(x[b, ch, i, j])) } } }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                for ch in (g * per)..<((g + 1) * per) { for i in 0..<h { for j in 0..<w {
                    let e = (Double(x[b, ch, i, j]) - mean) / (variance + 1e-5).squareRoot()
                        * Double(gn.parameter("weight")[ch]) + Double(gn.parameter("bias")[ch])
                    XCTAssertEqual(Double(y[b, ch, i, j]), e, accuracy: 1e-5 * max(1, abs(e)), "C \(c) G \(groups)")
                } } }
            } }
        }
    }

    /// The inference forward's fused kernels equal the layers one after the other, bit for bit.
    func testFusedRectifiedKernelsEqualTheLayersInSequence() {
        let norm = BatchNorm2d(name: "bn", channels: 3)
        norm.setParameter("weight", randomTensor([3], seed: 31))
        norm.setParameter("bias", randomTensor([3], seed: 32))
        norm.setParameter("running_mean", randomTensor([3], seed: 33))
        norm.setParameter("running_var", randomTensor([3], seed: 34).map { abs($0) + 0.1 })
        var x = randomTensor([2, 3, 5, 4], seed: 35)
        x.storage[0] = .nan; x.storage[1] = 0
        let relu = ReLU(name: "relu")
        XCTAssertEqual(norm.rectified(x).storage.map(\.bitPattern), relu.apply(norm.apply(x)).storage.map(\.bitPattern))
        let b = randomTensor(x.shape, seed: 36), sum = ResidualAddition(name: "add")
        XCTAssertEqual(sum.rectifiedSum(x, b).storage.map(\.bitPattern), relu.apply(sum.apply(x, b)).storage.map(\.bitPattern))
        XCTAssertEqual(norm.rectified(x).storage[0], 0, "NaN gives 0, as ReLU does")
    }

    func testBatchNormMatchesFormula() {
        let bn = BatchNorm2d(name: "bn", channels: 3)
        bn.setParameter("weight", randomTensor([3], seed: 9))
        bn.setParameter("bias", randomTensor([3], seed: 10))
        bn.setParameter("running_mean", randomTensor([3], seed: 11))
        bn.setParameter("running_var", Tensor(shape: [3], storage: [0.5, 1.5, 2.5]))
        let x = randomTensor([2, 3, 2, 3], seed: 12)
        let y = bn.apply(x)
        for b in 0..<2 { for c in 0..<3 { for i in 0..<2 { for j in 0..<3 {
            let e = (x[b, c, i, j] - bn.parameter("running_mean").storage[c]) / (bn.parameter("running_var").storage[c] + 1e-5).squareRoot()
                * bn.parameter("weight").storage[c] + bn.parameter("bias").storage[c]
            XCTAssertEqual(y[b, c, i, j], e, accuracy: 1e-5 * max(1, abs(e)))
        } } } }
    }

    func testNormalisationsArePerSample() {
        let t = Tensor(shape: [2, 3], storage: [1, -3, 0, 2, 2, -4])
        let s = t.normalizedSum(), m = t.normalizedMax()
        XCTAssertEqual(s.storage[0], 0.25, accuracy: 1e-7)
        XCTAssertEqual(s.storage[5], -0.5, accuracy: 1e-7)
        XCTAssertEqual(m.storage[1], -1, accuracy: 1e-7)
        XCTAssertEqual(m.storage[3], 0.5, accuracy: 1e-7)
    }

    func testAbsoluteTwinOfALayerTooLargeToCacheIsComputedBlockwise() {
        // 3000 x 3000 = 9M weights: above WeightMatrices' cache limit (256K values), so |W|
        // is formed block by block inside the product.
        let (n, rows) = (3000, 2)
        let lin = Linear(name: "fc", inFeatures: n, outFeatures: n, bias: false)
        lin.setParameter("weight", randomTensor([n, n], seed: 30))
        let x = randomTensor([rows, n], seed: 31), s = randomTensor([rows, n], seed: 32)
        let twin = lin.absoluteVJP(s, recordOf(lin, x))[0]
        let w = lin.parameter("weight")
        for r in 0..<rows { for j in Swift.stride(from: 0, to: n, by: 397) {
            var e = 0.0
            for o in 0..<n { e += Double(s.storage[r * n + o]) * Double(abs(w.storage[o * n + j])) }
            XCTAssertEqual(Double(twin.storage[r * n + j]), e, accuracy: 1e-4 * max(1, abs(e)))
        } }
    }

    func testDerivedMatrixLoopsEqualTheTransformOfEachValue() {
        // every case's vectorised loop against `transform` value by value, bit
        // for bit, into another buffer and in place, on signed zeros, NaN and infinities
        var source = randomTensor([1, 1037], seed: 33).storage
        source[..<6] = [0, -0, .nan, .infinity, -.infinity, -1]
        let cases: [WeightMatrix] = [.weight, .absolute, .rectifiedSum, .positive, .negative, .squared, .ones,
                                     .gammaPositive(0.25), .gammaNegative(0.25)]
        for matrix in cases {
            let expected = source.map { matrix.transform($0).bitPattern }
            var out = [Float](repeating: 7, count: source.count), inPlace = source
            source.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { matrix.transform(s.baseAddress!, into: $0.baseAddress!, count: s.count) }
            }
            inPlace.withUnsafeMutableBufferPointer { matrix.transform($0.baseAddress!, into: $0.baseAddress!, count: $0.count) }
            XCTAssertEqual(out.map(\.bitPattern), expected, "\(matrix)")
            XCTAssertEqual(inPlace.map(\.bitPattern), expected, "\(matrix) in place")
        }
    }
}

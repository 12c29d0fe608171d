import XCTest
@testable import AbsLRPCore

/// The fused absLRP kernels against the rule they fuse (spec section 1),
/// written from the layers' own VJPs, which `LayerGradientTests` checks by
/// finite differences:
///
///     c = x * detachedVJP(S) + |x| * absoluteVJP(S),   S = R / (|y| + eps)
///
/// computed element by element in Double.
final class FusedRuleTests: XCTestCase {
    /// `x * d + |x| * a` in Double, as a Float tensor.
    private func definition(_ x: Tensor, _ d: Tensor, _ a: Tensor) -> Tensor {
        Tensor(shape: x.shape) { i in
            Float(Double(x.storage[i]) * Double(d.storage[i]) + Double(abs(x.storage[i])) * Double(a.storage[i]))
        }
    }

    private func ratio(_ r: Tensor, _ y: Tensor) -> Tensor {
        Tensor(shape: r.shape) { i in r.storage[i] / (abs(y.storage[i]) + relevanceEpsilon) }
    }

    /// Checks `absLRPContributions(s)` against the definition, and that the
    /// record says whether `x` is nonnegative.
    private func checkAffine(_ layer: AffineLayer, _ x: Tensor, nonnegative: Bool, _ label: String) {
        let record = recordOf(layer, x)
        XCTAssertEqual(record.nonnegativeInput, nonnegative, label)
        let s = randomTensor(record.output.shape, seed: 77)
        let expected = definition(x, layer.detachedVJP(s, record)[0], layer.absoluteVJP(s, record)[0])
        let scale = expected.storage.map { abs($0) }.max() ?? 1
        assertClose(layer.absLRPContributions(s, record)[0], expected, rtol: 1e-4, atol: 1e-5 * scale, label)
    }

    func testConvolutionWithNonnegativeInputUsesOneProductOfWPlusAbsW() {
        let cases: [(c: Int, o: Int, h: Int, k: Int, s: Int, p: Int, d: Int, batch: Int)] = [
            (3, 5, 9, 3, 1, 1, 1, 2), (4, 6, 7, 1, 1, 0, 1, 3), (5, 4, 11, 3, 2, 1, 1, 2), (6, 3, 8, 1, 2, 0, 1, 1),
            (3, 4, 8, 3, 1, 2, 2, 2), (4, 3, 9, 3, 2, 4, 4, 2),
        ]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p, dilation: t.d)
            conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(10 + i)))
            conv.setParameter("bias", randomTensor([t.o], seed: UInt64(20 + i)))
            let signed = randomTensor([t.batch, t.c, t.h, t.h], seed: UInt64(30 + i))
            checkAffine(conv, signed.map { max($0, 0) }, nonnegative: true, "conv case \(i), x >= 0")
            checkAffine(conv, signed, nonnegative: false, "conv case \(i), signed x")
        }
    }

    func testGroupedConvolutionContributions() {
        let cases: [(c: Int, o: Int, g: Int, k: Int, s: Int, batch: Int)] = [(4, 6, 2, 3, 1, 2), (6, 6, 3, 3, 2, 3), (8, 4, 4, 1, 1, 1)]
        for (i, t) in cases.enumerated() {
            let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.k / 2,
                              groups: t.g)
            conv.setParameter("weight", randomTensor([t.o, t.c / t.g, t.k, t.k], seed: UInt64(40 + i)))
            conv.setParameter("bias", randomTensor([t.o], seed: UInt64(50 + i)))
            let signed = randomTensor([t.batch, t.c, 7, 8], seed: UInt64(60 + i))
            checkAffine(conv, signed.map { max($0, 0) }, nonnegative: true, "grouped conv case \(i), x >= 0")
            checkAffine(conv, signed, nonnegative: false, "grouped conv case \(i), signed x")
        }
    }

    /// From the relevance `R`, the convolution forms `S = R / (|y| + eps)`
    /// inside its products; under every cut of `Conv2d.columnBudget` (images
    /// side by side, slabs of output rows, the pointwise direct path) that
    /// gives the contributions of `S` formed first, for both signs of input.
    func testConvolutionFormsTheRatioInsideItsProducts() {
        let saved = Conv2d.columnBudget
        defer { Conv2d.columnBudget = saved }
        let cases: [(c: Int, o: Int, h: Int, k: Int, s: Int, p: Int, batch: Int)] = [
            (3, 5, 9, 3, 1, 1, 3), (4, 6, 7, 1, 1, 0, 3), (5, 4, 11, 3, 2, 1, 2),
        ]
        for budget in [1 << 20, 200, 40] {
            Conv2d.columnBudget = budget
            for (i, t) in cases.enumerated() {
                let conv = Conv2d(name: "c", inChannels: t.c, outChannels: t.o, kernelSize: t.k, stride: t.s, padding: t.p)
                conv.setParameter("weight", randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(70 + i)))
                conv.setParameter("bias", randomTensor([t.o], seed: UInt64(80 + i)))
                let signed = randomTensor([t.batch, t.c, t.h, t.h], seed: UInt64(90 + i))
                for (x, sign) in [(signed.map { max($0, 0) }, "x >= 0"), (signed, "signed x")] {
                    let record = recordOf(conv, x)
                    let r = randomTensor(record.output.shape, seed: 99)
                    let expected = conv.absLRPContributions(ratio(r, record.output), record)[0]
                    let scale = expected.storage.map { abs($0) }.max() ?? 1
                    assertClose(conv.absLRPContributions(relevance: r, record)[0], expected, rtol: 1e-5, atol: 1e-6 * scale,
                                "conv case \(i), budget \(budget), \(sign)")
                }
            }
        }
    }

    func testLinearWithNonnegativeInputUsesOneProductOfWPlusAbsW() {
        let linear = Linear(name: "fc", inFeatures: 13, outFeatures: 7)
        linear.setParameter("weight", randomTensor([7, 13], seed: 1))
        linear.setParameter("bias", randomTensor([7], seed: 2))
        let signed = randomTensor([3, 5, 13], seed: 3)
        checkAffine(linear, signed.map { max($0, 0) }, nonnegative: true, "linear, x >= 0")
        checkAffine(linear, signed, nonnegative: false, "linear, signed x")
    }

    func testWPlusAbsWOfALayerTooLargeToCacheIsComputedBlockwise() {
        // 1200 x 1000 weights: above WeightMatrices' cache limit (256K values)
        let (n, m) = (1000, 1200)
        let linear = Linear(name: "fc", inFeatures: n, outFeatures: m, bias: false)
        linear.setParameter("weight", randomTensor([m, n], seed: 4))
        let x = randomTensor([2, n], seed: 5).map { max($0, 0) }
        checkAffine(linear, x, nonnegative: true, "large linear")
    }

    func testMaxPoolRoutesBothArgmaxesInOnePass() {
        let x = Tensor(shape: [2, 3, 7, 6]) { i in Float((i * 7919) % 23) - 11 }  // ties and both signs
        for (divides, padding) in [(true, 1), (false, 0)] {
            let pool = MaxPool2d(name: "pool", kernelSize: 3, stride: 2, padding: padding)
            let record = recordOf(pool, x)
            let r = randomTensor(record.output.shape, seed: 6)
            let s = divides ? ratio(r, record.output) : r
            let expected = definition(x, pool.detachedVJP(s, record)[0], pool.absoluteVJP(s, record)[0])
            assertClose(AbsLRPRule(dividesRelevance: divides).propagateUnnormalized(r, at: pool, record)[0], expected,
                        rtol: 1e-5, atol: 1e-6, "max pool, divides \(divides)")
        }
    }

    func testDiagonalLayersFuseTheRuleIntoOnePass() {
        let x = Tensor(shape: [2, 3, 5, 4]) { i in i % 7 == 0 ? 0 : Float((i * 31) % 17) - 8 }
        let bn = BatchNorm2d(name: "bn", channels: 3)
        bn.setParameter("weight", Tensor(shape: [3], storage: [1.5, -0.7, 0.2]))
        bn.setParameter("bias", Tensor(shape: [3], storage: [0.1, -0.3, 0.5]))
        bn.setParameter("running_mean", Tensor(shape: [3], storage: [0.2, -1, 0.4]))
        bn.setParameter("running_var", Tensor(shape: [3], storage: [2, 0.5, 1.2]))
        let layers: [Layer] = [bn, ReLU(name: "relu"), Identity(name: "id"),
                               Dropout(name: "drop")]
        for layer in layers {
            let record = recordOf(layer, x)
            let r = randomTensor(record.output.shape, seed: 8)
            let s = ratio(r, record.output)
            let expected = definition(x, layer.detachedVJP(s, record)[0], layer.absoluteVJP(s, record)[0])
            assertClose(layer.absLRPContributions(relevance: r, record)[0], expected, rtol: 1e-5, atol: 1e-6, layer.name)
        }
    }

    /// A ReLU's output, and a max pool's of it, are noted nonnegative in the
    /// recorded forward, so the next convolution records its input's sign
    /// without a pass over it; any other input is still tested.
    func testRecordedForwardNotesTheOutputsKnownNonnegative() {
        let x = randomTensor([2, 3, 6, 6], seed: 40)
        let relu = ReLU(name: "relu"), pool = MaxPool2d(name: "pool", kernelSize: 2, stride: 2)
        let context = ForwardContext(tape: Tape())
        let rectified = relu.forward(x, context), pooled = pool.forward(rectified, context)
        XCTAssertTrue(context.isKnownNonnegative(rectified))
        XCTAssertTrue(context.isKnownNonnegative(pooled))
        XCTAssertTrue(context.isKnownNonnegative(pooled.reshaped([2, -1])), "same storage, same values")
        XCTAssertFalse(context.isKnownNonnegative(x))
        XCTAssertFalse(context.isKnownNonnegative(pool.forward(x, context)), "max pool of a signed input")
        XCTAssertFalse(context.isKnownNonnegative(x.map { max($0, 0) }), "nonnegative, but not noted: tested")
        let conv = Conv2d(name: "conv", inChannels: 3, outChannels: 2, kernelSize: 3, padding: 1)
        for (input, nonnegative) in [(pooled, true), (x, false), (x.map { max($0, 0) }, true)] {
            _ = conv.forward(input, context)
            XCTAssertEqual(context.tape!.record(for: conv).nonnegativeInput, nonnegative)
        }
        // without a tape nothing is noted
        let inference = ForwardContext()
        XCTAssertFalse(inference.isKnownNonnegative(relu.forward(x, inference)))
    }

    func testAbsoluteSumAndSignTestMatchNaiveLoops() {
        let values: [Float] = (0..<1001).map { Float(($0 * 37) % 101) - 50.5 }
        let naive = values.reduce(0.0) { $0 + Double(abs($1)) }
        values.withUnsafeBufferPointer { p in
            XCTAssertEqual(absoluteSum(p.baseAddress!, 0..<1001), naive, accuracy: 1e-9)
            XCTAssertEqual(absoluteSum(p.baseAddress!, 3..<20), values[3..<20].reduce(0.0) { $0 + Double(abs($1)) },
                           accuracy: 1e-9)
        }
        XCTAssertFalse(Tensor(shape: [1001], storage: values).isNonnegative)
        XCTAssertTrue(Tensor(shape: [4], storage: [0, -0.0, 3, .nan]).isNonnegative)
        XCTAssertFalse(Tensor(shape: [33], storage: Array(repeating: 1, count: 32) + [-1e-30]).isNonnegative)
    }

    /// The blockwise scan with its early exit against the naive loop: one
    /// negative value (or -0 / NaN, which do not count) in each place of a
    /// tensor long enough for two cores' shares of several blocks each.
    func testSignTestOfLargeTensorsMatchesNaiveLoop() {
        let n = (1 << 16) + 4099
        for position in [0, 15, 16, 4095, 4096, 40000, n / 2, n / 2 + 1, n - 17, n - 1] {
            for special: Float in [-1e-30, -0.0, .nan, -.infinity] {
                var values = [Float](repeating: 0.5, count: n)
                values[position] = special
                XCTAssertEqual(Tensor(shape: [n], storage: values).isNonnegative, !values.contains { $0 < 0 },
                               "value \(special) at \(position)")
            }
        }
        XCTAssertTrue(Tensor(shape: [n], storage: [Float](repeating: 0, count: n)).isNonnegative)
        XCTAssertTrue(Tensor(shape: [0], storage: []).isNonnegative)
    }
}

/// Skipping the normalisation between layers of a chain
/// (`BackwardContext.backward(through:_:)`) against normalising after every
/// layer (what tracing forces).
final class ChainNormalisationTests: XCTestCase {
    func testAChainGivesTheSameRelevanceWithAndWithoutIntermediateNormalisation() {
        let conv1 = Conv2d(name: "c1", inChannels: 3, outChannels: 6, kernelSize: 3, padding: 1)
        let bn = BatchNorm2d(name: "bn", channels: 6)
        let conv2 = Conv2d(name: "c2", inChannels: 6, outChannels: 4, kernelSize: 3, stride: 2, padding: 1)
        conv1.setParameter("weight", randomTensor([6, 3, 3, 3], seed: 1))
        conv1.setParameter("bias", randomTensor([6], seed: 2))
        conv2.setParameter("weight", randomTensor([4, 6, 3, 3], seed: 3))
        conv2.setParameter("bias", randomTensor([4], seed: 4))
        bn.setParameter("weight", randomTensor([6], seed: 5))
        bn.setParameter("running_var", randomTensor([6], seed: 6).map { abs($0) + 0.1 })
        let chain = Sequential(name: "chain", [
            conv1, bn, ReLU(name: "relu1"), Identity(name: "id"),
            MaxPool2d(name: "pool", kernelSize: 2, stride: 2), conv2, ReLU(name: "relu2"),
        ])
        let tape = Tape()
        let y = chain.forward(randomTensor([2, 3, 12, 10], seed: 7), ForwardContext(tape: tape))
        let r = randomTensor(y.shape, seed: 8).map { abs($0) }.normalizedSum()
        let skipping = chain.backward(r, BackwardContext(tape: tape, rules: RuleMap(fallback: AbsLRPRule())))
        let traced = BackwardContext(tape: tape, rules: RuleMap(fallback: AbsLRPRule()), recordTraces: true)
        let everyLayer = chain.backward(r, traced)
        XCTAssertEqual(traced.traces?.count, 8)
        assertClose(skipping, everyLayer, rtol: 1e-5, atol: 1e-9, "chain relevance")
        XCTAssertEqual(skipping.storage.reduce(0) { $0 + Double(abs($1)) }, 2, accuracy: 1e-5)  // 2 samples of mass 1
    }

    /// A run of diagonal layers (`DiagonalPass`, chained piece by piece)
    /// against the layers' passes one after the other, unnormalised, and the
    /// last one's normalisation: bit for bit. 2 x 5 x 70 x 101 values: two
    /// parallel chunks, pieces that end inside BatchNorm's planes, a last
    /// piece shorter than the others.
    func testARunOfDiagonalLayersGivesTheLayersValuesBitForBit() {
        func batchNorm(_ name: String, seed: UInt64) -> BatchNorm2d {
            let bn = BatchNorm2d(name: name, channels: 5)
            bn.setParameter("weight", randomTensor([5], seed: seed))
            bn.setParameter("bias", randomTensor([5], seed: seed + 1))
            bn.setParameter("running_mean", randomTensor([5], seed: seed + 2))
            bn.setParameter("running_var", randomTensor([5], seed: seed + 3).map { abs($0) + 0.1 })
            return bn
        }
        let layers: [Layer] = [batchNorm("bn1", seed: 1), ReLU(name: "act"), Identity(name: "drop_block"),
                               batchNorm("bn2", seed: 5), Dropout(name: "drop")]
        var x = randomTensor([2, 5, 70, 101], seed: 9)
        x.storage[..<3] = [0, -0, 1e-12]
        let tape = Tape()
        let y = Sequential(name: "run", layers).forward(x, ForwardContext(tape: tape))
        let r = randomTensor(y.shape, seed: 10)
        let rules = RuleMap(fallback: AbsLRPRule())
        let context = BackwardContext(tape: tape, rules: rules)
        var expected = r
        for layer in layers.reversed() { expected = layer.propagate(expected, context, normalized: false)[0] }
        expected.normalizeSum()
        let run = context.backward(through: layers, r)
        XCTAssertEqual(run.shape, x.shape)
        XCTAssertEqual(run.storage.map(\.bitPattern), expected.storage.map(\.bitPattern))
        // one layer alone: its own pass, normalised
        let alone = context.backward(through: [layers[3]], r)
        XCTAssertEqual(alone.storage.map(\.bitPattern),
                       layers[3].propagate(r, context)[0].storage.map(\.bitPattern))
    }
}

import XCTest
@testable import AbsLRPCore

/// Every rule against its definition, in Double, on every layer type it
/// applies to (the layer x rule matrix, as Zennit's `tests/unit/test_rules.py`).
///
/// - Rules defined by the operation's Jacobians (gradient, detached gradient,
///   epsilon, absLRP, pass, constant) on all 17 layer types: the definition
///   is evaluated in Double with the dense Jacobians `J`, `J_detached`,
///   `J_twin` read off the layer's VJPs with unit vectors (the VJPs themselves
///   are held to finite differences by `LayerGradientTests` and
///   `TransformerLayerGradientTests`), so what is tested is the rule and the
///   fused kernels it calls (absLRP's one-pass forms) against the unfused formula.
/// - Rules defined on `y = W x + b` (z+, alpha-beta, gamma, z-box, flat,
///   w-square, and epsilon again) on Conv2d (stride, padding) and Linear: the
///   definition is Zennit's modified-forward formula over the layer's dense
///   matrix built by naive loops in Double.
final class RuleMatrixTests: XCTestCase {
    // MARK: - Layers of every type, with inputs of both signs

    /// A layer or two-input operation with its inputs.
    struct Case {
        let name: String
        let operation: AbsLRPCore.Operation
        let inputs: [Tensor]
        /// Single-input and of the output's size (the pass rule applies).
        var passes: Bool { inputs.count == 1 && record.output.count == inputs[0].count }
        let record: Record

        init(_ name: String, _ operation: AbsLRPCore.Operation, _ inputs: [Tensor]) {
            self.name = name
            self.operation = operation
            self.inputs = inputs
            let tape = Tape(), context = ForwardContext(tape: tape)
            if let layer = operation as? Layer {
                _ = layer.forward(inputs[0], context)
            } else {
                _ = (operation as! BinaryOperation).forward(inputs[0], inputs[1], context)
            }
            record = tape.record(for: operation)
        }
    }

    static func conv(stride: Int, padding: Int, bias: Bool) -> Conv2d {
        let conv = Conv2d(name: "conv", inChannels: 2, outChannels: 3, kernelSize: 3, stride: stride, padding: padding, bias: bias)
        conv.setParameter("weight", randomTensor([3, 2, 3, 3], seed: 1))
        if bias { conv.setParameter("bias", randomTensor([3], seed: 2, scale: 0.5)) }
        return conv
    }

    static func linear() -> Linear {
        let fc = Linear(name: "fc", inFeatures: 5, outFeatures: 4)
        fc.setParameter("weight", randomTensor([4, 5], seed: 3))
        fc.setParameter("bias", randomTensor([4], seed: 4, scale: 0.5))
        return fc
    }

    static var cases: [Case] {
        let image = randomTensor([2, 2, 5, 5], seed: 10)
        let bn = BatchNorm2d(name: "bn", channels: 2)
        bn.setParameter("weight", Tensor(shape: [2], storage: [1.5, -0.7]))
        bn.setParameter("bias", Tensor(shape: [2], storage: [0.1, -0.3]))
        bn.setParameter("running_mean", Tensor(shape: [2], storage: [0.2, -1]))
        bn.setParameter("running_var", Tensor(shape: [2], storage: [2, 0.5]))
        let norm = LayerNorm(name: "ln", features: 6)
        norm.setParameter("weight", randomTensor([6], seed: 5))
        norm.setParameter("bias", randomTensor([6], seed: 6, scale: 0.3))
        let tokens = randomTensor([2, 3, 6], seed: 11)
        return [
            Case("Conv2d", conv(stride: 2, padding: 1, bias: true), [image]),
            Case("Linear", linear(), [randomTensor([2, 5], seed: 12)]),
            Case("BatchNorm2d", bn, [image]),
            Case("ReLU", ReLU(name: "relu"), [image]),
            Case("MaxPool2d", MaxPool2d(name: "pool", kernelSize: 3, stride: 2, padding: 1), [image]),
            Case("AdaptiveAvgPool2d", AdaptiveAvgPool2d(name: "avg", outputHeight: 2, outputWidth: 2), [image]),
            Case("Identity", Identity(name: "id"), [image]),
            Case("Dropout", Dropout(name: "drop"), [image]),
            Case("Flatten", Flatten(name: "flat"), [image]),
            Case("GELU", GELU(name: "gelu"), [tokens]),
            Case("LayerNorm", norm, [tokens]),
            Case("Softmax", Softmax(name: "softmax"), [tokens]),
            Case("ClassTokenPool", ClassTokenPool(name: "cls"), [tokens]),
            Case("ResidualAddition", ResidualAddition(name: "add"), [image, randomTensor([2, 2, 5, 5], seed: 13)]),
            Case("PositionEmbed", PositionEmbed(name: "pos"), [tokens, randomTensor([2, 3, 6], seed: 14)]),
            Case("QKMultiply", QKMultiply(name: "qk", scale: 0.4),
                 [randomTensor([2, 2, 3, 4], seed: 15), randomTensor([2, 2, 5, 4], seed: 16)]),
            Case("AttentionVMultiply", AttentionVMultiply(name: "av"),
                 [randomTensor([2, 2, 3, 5], seed: 17), randomTensor([2, 2, 5, 4], seed: 18)]),
        ]
    }

    // MARK: - Dense Jacobians and Double helpers

    /// `J_k[o][i]` for each input k, read off `vjp` with unit vectors at the output.
    static func jacobians(_ vjp: @escaping (Tensor, Record) -> [Tensor], _ c: Case) -> [[[Double]]] {
        let shape = c.record.output.shape, n = c.record.output.count
        var rows = c.inputs.map { _ in [[Double]]() }
        for o in 0..<n {
            var e = Tensor(shape: shape)
            e.storage[o] = 1
            for (k, g) in vjp(e, c.record).enumerated() { rows[k].append(g.storage.map(Double.init)) }
        }
        return rows
    }

    /// `J^T v` for a dense `J[o][i]`.
    static func transposedProduct(_ j: [[Double]], _ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: j.first?.count ?? 0)
        for (o, row) in j.enumerated() where v[o] != 0 { for i in row.indices { out[i] += row[i] * v[o] } }
        return out
    }

    static func doubles(_ t: Tensor) -> [Double] { t.storage.map(Double.init) }

    static func stabilized(_ z: Double, _ eps: Double) -> Double { z + (z >= 0 ? eps : -eps) }

    /// Each sample divided by its L1 mass (`normalize_sum`: `v / (sum |v| + 1e-9)`).
    static func normalizedSum(_ v: [Double], batch: Int) -> [Double] {
        let n = v.count / batch
        return (0..<v.count).map { i in
            let b = i / n
            return v[i] / (v[(b * n)..<((b + 1) * n)].reduce(0) { $0 + abs($1) } + 1e-9)
        }
    }

    /// Compares in Float with a bound relative to the largest expected value.
    static func assertMatches(_ ours: Tensor, _ expected: [Double], _ label: String, rtol: Double = 1e-4,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, expected.count, "\(label): size", file: file, line: line)
        let scale = max(expected.map(abs).max() ?? 0, 1e-30)
        assertClose(ours, Tensor(shape: ours.shape, storage: expected.map(Float.init)), rtol: Float(rtol),
                    atol: Float(rtol * scale), label, file: file, line: line)
    }

    // MARK: - Rules defined by Jacobians, on every layer type

    func testGradientRulesAreTheTransposedJacobians() {
        for c in Self.cases {
            let g = randomTensor(c.record.output.shape, seed: 20)
            for (rule, vjp, label) in [(GradientRule() as any RelevanceRule, c.operation.vjp, "gradient"),
                                       (DetachedGradientRule(), c.operation.detachedVJP, "detached gradient")] {
                let j = Self.jacobians(vjp, c)
                let ours = rule.propagate(g, at: c.operation, c.record)
                for k in c.inputs.indices {
                    Self.assertMatches(ours[k], Self.transposedProduct(j[k], Self.doubles(g)), "\(label) on \(c.name) [\(k)]")
                }
            }
        }
    }

    func testEpsilonRuleIsInputTimesDetachedJacobianOfTheStabilisedRatio() {
        for c in Self.cases {
            let r = randomTensor(c.record.output.shape, seed: 21)
            let j = Self.jacobians(c.operation.detachedVJP, c)
            for eps in [1e-6, 0.25] {
                let s = zip(Self.doubles(r), Self.doubles(c.record.output)).map { $0 / Self.stabilized($1, eps) }
                let ours = EpsilonRule(epsilon: Float(eps)).propagate(r, at: c.operation, c.record)
                for k in c.inputs.indices {
                    let expected = zip(Self.doubles(c.inputs[k]), Self.transposedProduct(j[k], s)).map { $0 * $1 }
                    Self.assertMatches(ours[k], expected, "epsilon \(eps) on \(c.name) [\(k)]", rtol: 1e-3)
                }
            }
        }
    }

    func testAbsLRPRuleIsTheNormalisedSumOfBothContributions() {
        for c in Self.cases {
            let r = randomTensor(c.record.output.shape, seed: 22).absolute
            let jd = Self.jacobians(c.operation.detachedVJP, c), ja = Self.jacobians(c.operation.absoluteVJP, c)
            for divides in [true, false] {
                let s = zip(Self.doubles(r), Self.doubles(c.record.output)).map { divides ? $0 / (abs($1) + 1e-9) : $0 }
                let rule = AbsLRPRule(dividesRelevance: divides)
                let ours = rule.propagate(r, at: c.operation, c.record)
                let unnormalized = rule.propagateUnnormalized(r, at: c.operation, c.record)
                for k in c.inputs.indices {
                    let x = Self.doubles(c.inputs[k])
                    let d = Self.transposedProduct(jd[k], s), a = Self.transposedProduct(ja[k], s)
                    let contribution = x.indices.map { x[$0] * d[$0] + abs(x[$0]) * a[$0] }
                    Self.assertMatches(unnormalized[k], contribution, "absLRP contributions on \(c.name) [\(k)], divides \(divides)")
                    Self.assertMatches(ours[k], Self.normalizedSum(contribution, batch: 2),
                                       "absLRP on \(c.name) [\(k)], divides \(divides)")
                }
            }
        }
    }

    /// At an identity shortcut `y = a + b`, `a = W b`, absLRP takes the total
    /// derivative for `b`: `G_b = S + sign(b) S + W^T (S + sign(a) S)`.
    func testAbsLRPRuleAtAnIdentityShortcutTakesTheTotalDerivative() {
        let fc = Linear(name: "branch", inFeatures: 4, outFeatures: 4, bias: false)
        fc.setParameter("weight", randomTensor([4, 4], seed: 30))
        let b = randomTensor([2, 4], seed: 31), a = fc.apply(b)
        let c = Case("ResidualAddition", ResidualAddition(name: "add"), [a, b])
        let r = randomTensor([2, 4], seed: 32).absolute
        let ours = AbsLRPRule().propagateIdentityShortcut(r, at: c.operation as! ResidualAddition, c.record) { g in
            fc.vjp(g, Record(inputs: [b], output: a))[0]
        }
        let s = zip(Self.doubles(r), Self.doubles(c.record.output)).map { $0 / (abs($1) + 1e-9) }
        let (av, bv, w) = (Self.doubles(a), Self.doubles(b), Self.doubles(fc.parameter("weight")))
        func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
        let ga = s.indices.map { s[$0] + sign(av[$0]) * s[$0] }
        let gb = s.indices.map { i -> Double in
            let (row, col) = (i / 4, i % 4)
            var branch = 0.0
            for o in 0..<4 { branch += w[o * 4 + col] * ga[row * 4 + o] }
            return s[i] + sign(bv[i]) * s[i] + branch
        }
        Self.assertMatches(ours[0], Self.normalizedSum(av.indices.map { av[$0] * ga[$0] }, batch: 2), "shortcut a")
        Self.assertMatches(ours[1], Self.normalizedSum(bv.indices.map { bv[$0] * gb[$0] }, batch: 2), "shortcut b")
    }

    func testPassRuleReturnsTheRelevanceAndConstantRuleNothing() {
        for c in Self.cases {
            let r = randomTensor(c.record.output.shape, seed: 23)
            if c.passes {
                XCTAssertEqual(PassRule().propagate(r, at: c.operation, c.record)[0].storage, r.storage, "pass on \(c.name)")
            }
            XCTAssertEqual(PassRule().refusal(at: c.operation) == nil, c.passes, "pass refused exactly where it cannot run: \(c.name)")
            let constant = ConstantRule().propagate(r, at: c.operation, c.record)
            XCTAssertEqual(constant.map(\.shape), c.inputs.map(\.shape), "constant on \(c.name): shapes")
            XCTAssertTrue(constant.allSatisfy { $0.storage.allSatisfy { $0 == 0 } }, "constant on \(c.name)")
        }
        XCTAssertEqual(Self.cases.filter(\.passes).map(\.name),
                       ["BatchNorm2d", "ReLU", "Identity", "Dropout", "Flatten", "GELU", "LayerNorm", "Softmax"])
    }

    // MARK: - Rules defined on y = W x + b, on Conv2d and Linear

    /// A layer `y = A x + b` per sample as a dense matrix, built by naive loops.
    struct DenseAffine {
        var rows = 0, cols = 0
        /// `A[j][i]`, and whether input i reaches output j at all.
        var a: [[Double]] = [], connected: [[Bool]] = []
        /// The bias of each output.
        var bias: [Double] = []

        init(_ layer: AffineLayer, inputShape: [Int]) {
            let w = RuleMatrixTests.doubles(layer.parameter("weight"))
            let b = layer.state["bias"].map(RuleMatrixTests.doubles)
            if let fc = layer as? Linear {
                (rows, cols) = (fc.outFeatures, fc.inFeatures)
                a = (0..<rows).map { j in Array(w[(j * cols)..<((j + 1) * cols)]) }
                connected = a.map { $0.map { _ in true } }
                bias = (0..<rows).map { b?[$0] ?? 0 }
                return
            }
            let conv = layer as! Conv2d
            let (c, h, wd, k) = (conv.inChannels, inputShape[2], inputShape[3], conv.kernelSize)
            let oh = (h + 2 * conv.padding - k) / conv.stride + 1, ow = (wd + 2 * conv.padding - k) / conv.stride + 1
            (rows, cols) = (conv.outChannels * oh * ow, c * h * wd)
            a = Array(repeating: Array(repeating: 0, count: cols), count: rows)
            connected = Array(repeating: Array(repeating: false, count: cols), count: rows)
            for o in 0..<conv.outChannels {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let j = (o * oh + y) * ow + x
                        bias.append(b?[o] ?? 0)
                        for ci in 0..<c {
                            for dy in 0..<k {
                                for dx in 0..<k {
                                    let (iy, ix) = (y * conv.stride - conv.padding + dy, x * conv.stride - conv.padding + dx)
                                    guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                    let i = (ci * h + iy) * wd + ix
                                    a[j][i] = w[((o * c + ci) * k + dy) * k + dx]
                                    connected[j][i] = true
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The modified forward's terms `(x_k, f_k(A))`, per sample: `z_j = sum_k sum_i f_k(A_ji) x_k,i + bias'_j`.
        func output(_ terms: [([Double], (Double) -> Double)], bias b: [Double]) -> [Double] {
            (0..<rows).map { j in
                terms.reduce(b[j]) { acc, term in
                    (0..<cols).reduce(acc) { $0 + (connected[j][$1] ? term.1(a[j][$1]) : 0) * term.0[$1] }
                }
            }
        }

        /// `sum_k x_k,i sum_j f_k(A_ji) s_j`.
        func relevance(_ s: [Double], _ terms: [([Double], (Double) -> Double)]) -> [Double] {
            (0..<cols).map { i in
                terms.reduce(0.0) { acc, term in
                    acc + term.0[i] * (0..<rows).reduce(0.0) { $0 + (connected[$1][i] ? term.1(a[$1][i]) : 0) * s[$1] }
                }
            }
        }
    }

    /// The affine rule `rule` on `layer` against `definition(dense, x, R) -> R_in`, sample by sample.
    func checkAffineRule(_ label: String, _ rule: any RelevanceRule, nonnegative: Bool = false, linear: Bool = true,
                         _ definition: (DenseAffine, [Double], [Double], [Double]) -> [Double],
                         file: StaticString = #filePath, line: UInt = #line) {
        let layers: [(String, AffineLayer, [Int])] = [
            ("Conv2d", Self.conv(stride: 2, padding: 1, bias: true), [2, 2, 5, 5]),
            ("Conv2d without bias", Self.conv(stride: 1, padding: 0, bias: false), [2, 2, 4, 4]),
            ("Linear", Self.linear(), [2, 5]),
        ]
        for (name, layer, shape) in layers where linear || layer is Conv2d {
            var x = randomTensor(shape, seed: 40)
            if nonnegative { x = x.map { max($0, 0) } }
            let record = recordOf(layer, x)
            XCTAssertEqual(record.nonnegativeInput, nonnegative)
            let r = randomTensor(record.output.shape, seed: 41)
            let ours = rule.propagate(r, at: layer, record)[0]
            let dense = DenseAffine(layer, inputShape: shape)
            let (n, m) = (x.sampleCount, r.sampleCount)
            var expected: [Double] = []
            for b in 0..<shape[0] {
                let xb = Self.doubles(x)[(b * n)..<((b + 1) * n)], rb = Self.doubles(r)[(b * m)..<((b + 1) * m)]
                let yb = Self.doubles(record.output)[(b * m)..<((b + 1) * m)]
                expected += definition(dense, Array(xb), Array(rb), Array(yb))
            }
            Self.assertMatches(ours, expected, "\(label) on \(name)\(nonnegative ? ", x >= 0" : "")", rtol: 2e-3,
                               file: file, line: line)
        }
    }

    static let eps = 1e-6
    static func ratio(_ r: [Double], _ z: [Double]) -> [Double] { zip(r, z).map { $0 / stabilized($1, eps) } }
    static let identity: (Double) -> Double = { $0 }
    static let positive: (Double) -> Double = { max($0, 0) }
    static let negative: (Double) -> Double = { min($0, 0) }

    func testZPlusRule() {
        for nonnegative in [false, true] {
            checkAffineRule("z+", ZPlusRule(), nonnegative: nonnegative) { dense, x, r, _ in
                let terms = [(x.map(Self.positive), Self.positive), (x.map(Self.negative), Self.negative)]
                let z = dense.output(terms, bias: dense.bias.map(Self.positive))
                return dense.relevance(Self.ratio(r, z), terms)
            }
        }
    }

    func testAlphaBetaRule() throws {
        for (alpha, beta) in [(2.0, 1.0), (1.0, 0.0)] {
            for nonnegative in [false, true] {
                checkAffineRule("alpha \(alpha) beta \(beta)", try AlphaBetaRule(alpha: Float(alpha), beta: Float(beta)),
                                nonnegative: nonnegative) { dense, x, r, _ in
                    let (xp, xn) = (x.map(Self.positive), x.map(Self.negative))
                    let p = [(xp, Self.positive), (xn, Self.negative)], q = [(xp, Self.negative), (xn, Self.positive)]
                    let zp = dense.output(p, bias: dense.bias.map(Self.positive))
                    let zn = dense.output(q, bias: dense.bias.map(Self.negative))
                    let rp = dense.relevance(Self.ratio(r, zp), p), rn = dense.relevance(Self.ratio(r, zn), q)
                    return zip(rp, rn).map { alpha * $0 - beta * $1 }
                }
            }
        }
    }

    func testGammaRule() {
        let gamma = 0.25
        for nonnegative in [false, true] {
            checkAffineRule("gamma", GammaRule(gamma: Float(gamma)), nonnegative: nonnegative) { dense, x, r, y in
                let wp: (Double) -> Double = { $0 + gamma * max($0, 0) }, wn: (Double) -> Double = { $0 + gamma * min($0, 0) }
                let (xp, xn) = (x.map(Self.positive), x.map(Self.negative))
                let p = [(xp, wp), (xn, wn)], q = [(xp, wn), (xn, wp)]
                let zp = dense.output(p, bias: dense.bias.map { $0 + gamma * max($0, 0) })
                let zn = dense.output(q, bias: dense.bias.map { $0 + gamma * min($0, 0) })
                let sp = Self.ratio(r.indices.map { y[$0] > 0 ? r[$0] : 0 }, zp)
                let sn = Self.ratio(r.indices.map { y[$0] < 0 ? r[$0] : 0 }, zn)
                return zip(dense.relevance(sp, p), dense.relevance(sn, q)).map { $0 + $1 }
            }
        }
    }

    func testZBoxRule() throws {
        // per-channel bounds for the convolutions (2 channels), one bound for the linear layer
        for (low, high) in [([-1.5, -0.5], [1.0, 2.5]), ([-2.0], [2.0])] as [([Double], [Double])] {
            let rule = try ZBoxRule(low: low.map(Float.init), high: high.map(Float.init))
            checkAffineRule("z-box \(low) \(high)", rule, linear: low.count == 1) { dense, x, r, _ in
                let plane = low.count == 1 ? dense.cols : dense.cols / low.count
                let l = (0..<dense.cols).map { low[min($0 / plane, low.count - 1)] }
                let h = (0..<dense.cols).map { high[min($0 / plane, high.count - 1)] }
                let lowPart = dense.output([(l, Self.positive)], bias: dense.bias.map(Self.positive))
                let highPart = dense.output([(h, Self.negative)], bias: dense.bias.map(Self.negative))
                let y = dense.output([(x, Self.identity)], bias: dense.bias)
                let s = Self.ratio(r, y.indices.map { y[$0] - (lowPart[$0] + highPart[$0]) })
                let terms = [(x, Self.identity), (l.map { -$0 }, Self.positive), (h.map { -$0 }, Self.negative)]
                return dense.relevance(s, terms)
            }
        }
    }

    func testFlatRule() {
        checkAffineRule("flat", FlatRule()) { dense, x, r, _ in
            let terms = [(x.map { _ in 1.0 }, { (_: Double) in 1.0 })]
            return dense.relevance(Self.ratio(r, dense.output(terms, bias: dense.bias.map { _ in 0 })), terms)
        }
    }

    func testWSquareRule() {
        checkAffineRule("w-square", WSquareRule()) { dense, x, r, _ in
            let terms = [(x.map { _ in 1.0 }, { (w: Double) in w * w })]
            return dense.relevance(Self.ratio(r, dense.output(terms, bias: dense.bias.map { $0 * $0 })), terms)
        }
    }

    func testEpsilonRuleOnAffineLayers() {
        checkAffineRule("epsilon", EpsilonRule()) { dense, x, r, _ in
            let terms = [(x, Self.identity)]
            return dense.relevance(Self.ratio(r, dense.output(terms, bias: dense.bias)), terms)
        }
    }
}

import XCTest
@testable import AbsLRPCore

/// Rule parameters and placements a user's code or file can get wrong: each
/// is a thrown error with the bad value in its message, never a trap (the
/// rules' preconditions trapped before).
final class RuleValidationTests: XCTestCase {
    /// `message` of the `RelevancyMethodError.invalidOption` that `make` throws.
    private func invalidOption(_ make: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let made = try make()
            XCTFail("accepted: \(made)", file: file, line: line)
        } catch let error as RelevancyMethodError {
            guard case .invalidOption = error else {
                XCTFail("\(error)", file: file, line: line)
                return ""
            }
            return "\(error)"
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return ""
    }

    func testAlphaBetaOutsideZennitsRangeIsThrown() throws {
        let cases: [(Float, Float, String)] = [
            (3, 1, "got alpha 3.0, beta 1.0"), (2, 2, "got alpha 2.0, beta 2.0"), (0.5, -0.5, "got alpha 0.5, beta -0.5"),
            (.nan, 1, "got alpha nan, beta 1.0"), (.infinity, .infinity, "got alpha inf, beta inf"),
        ]
        for (alpha, beta, value) in cases {
            let message = invalidOption { try AlphaBetaRule(alpha: alpha, beta: beta) }
            XCTAssertTrue(message.hasPrefix("invalid alpha and beta: alpha-beta needs alpha - beta = 1 with both finite and >= 0"),
                          message)
            XCTAssertTrue(message.hasSuffix(value), message)
        }
        XCTAssertEqual(try AlphaBetaRule(alpha: 1, beta: 0).alpha, 1)
        XCTAssertEqual([AlphaBetaRule.alpha2Beta1().alpha, AlphaBetaRule.alpha2Beta1().beta], [2, 1])
    }

    func testZBoxBoundsThatAreNoBoxAreThrown() throws {
        let cases: [([Float], [Float], String)] = [
            ([], [], "need as many lower as upper bounds, at least one, got 0 and 0"),
            ([0], [1, 1], "need as many lower as upper bounds, at least one, got 1 and 2"),
            ([1], [0], "need finite bounds with low < high, got low 1.0, high 0.0 for channel 0"),
            ([0, 0.5], [1, 0.5], "need finite bounds with low < high, got low 0.5, high 0.5 for channel 1"),
            ([-.infinity], [1], "need finite bounds with low < high, got low -inf, high 1.0 for channel 0"),
            ([0, 0, 0], [1, .nan, 1], "need finite bounds with low < high, got low 0.0, high nan for channel 1"),
        ]
        for (low, high, reason) in cases {
            XCTAssertEqual(invalidOption { try ZBoxRule(low: low, high: high) }, "invalid z-box bounds: \(reason)")
            XCTAssertEqual(invalidOption { try ZennitComposites.epsilonGammaBox(low: low, high: high) },
                           "invalid z-box bounds: \(reason)")
        }
    }

    /// Statistics a model file may hold whose `[0, 1]` box rounds to nothing
    /// in float32: mean 1e30 makes `(0 - mean) / std == (1 - mean) / std`.
    func testEpsilonGammaBoxOnStatisticsThatGiveNoBoxIsThrown() throws {
        let vgg = TinyModels.vgg()
        let configuration = ModelConfiguration(architecture: vgg.configuration.architecture, inputSize: [3, 16, 16],
                                               mean: [0.5, 1e30, 0.5], std: [0.25, 0.25, 0.25], cropPct: 1,
                                               name: "far_mean")
        let classifier = Classifier(configuration: configuration)
        let message = invalidOption { try ZennitComposites.composite(named: "epsilon-gamma-box", for: classifier) }
        XCTAssertTrue(message.hasPrefix("invalid z-box bounds: need finite bounds with low < high, got low -4e+30, high -4e+30 "
                                        + "for channel 1 (the input range [0, 1] through the model's mean [0.5, 1e+30, 0.5]"),
                      message)
        let viaMethods = invalidOption {
            try RelevancyMethods.make("lrp-epsilon-gamma-box", classifier: classifier, options: RelevancyMethodOptions())
        }
        XCTAssertTrue(viaMethods.hasPrefix("invalid z-box bounds: need finite bounds"), viaMethods)
        XCTAssertNoThrow(try ZennitComposites.composite(named: "epsilon-gamma-box", for: vgg))
    }

    /// z-box on a Linear takes one bound or one per input feature, along the
    /// features (the last axis, also of token inputs); other counts are
    /// refused when the composite is applied (they trapped in the pass).
    func testZBoxBoundsOnALinearRunAlongItsFeatures() throws {
        let fc = Linear(name: "fc", inFeatures: 5, outFeatures: 4)
        fc.setParameter("weight", randomTensor([4, 5], seed: 3))
        fc.setParameter("bias", randomTensor([4], seed: 4, scale: 0.5))
        let network = Sequential(name: "", [fc])
        let wrong = SpecialFirstLayerMapComposite(LayerMapComposite([]), firstMap: [(.dense, try ZBoxRule(low: [0, 0], high: [1, 1]))])
        XCTAssertThrowsError(try wrong.checkedRuleMap(for: network)) { error in
            XCTAssertEqual(error as? CompositeError, .ruleDoesNotApply(
                operation: "fc", layer: "Linear", rule: "ZBoxRule",
                reason: "the z-box rule has 2 bounds per side for 5 input features (give 1 or one per channel)"))
        }
        let (low, high): ([Float], [Float]) = ([-2, -1, -0.5, -3, -1.5], [2, 1, 1.5, 0.5, 3])
        let perFeature = try ZBoxRule(low: low, high: high)
        XCTAssertNil(perFeature.refusal(at: fc))
        for shape in [[2, 5], [2, 3, 5]] {
            let record = recordOf(fc, randomTensor(shape, seed: 12))
            let r = randomTensor(record.output.shape, seed: 13)
            let ours = perFeature.propagate(r, at: fc, record)[0]
            // the definition with the bounds spelled out per value (feature = the last index)
            let l = Tensor(shape: shape) { low[$0 % 5] }, h = Tensor(shape: shape) { high[$0 % 5] }
            let w = fc.parameter("weight"), b = fc.parameter("bias")
            func product(_ x: Tensor, _ m: Tensor) -> Tensor {  // x m^T over the last axis
                Tensor(shape: Array(shape.dropLast()) + [4]) { i in
                    let (row, o) = (i / 4, i % 4)
                    return (0..<5).reduce(Float(0)) { $0 + x.storage[row * 5 + $1] * m.storage[o * 5 + $1] }
                }
            }
            func transposed(_ s: Tensor, _ m: Tensor) -> Tensor {  // s m over the last axis
                Tensor(shape: shape) { i in
                    let (row, f) = (i / 5, i % 5)
                    return (0..<4).reduce(Float(0)) { $0 + s.storage[row * 4 + $1] * m.storage[$1 * 5 + f] }
                }
            }
            let (wp, wn) = (w.map { max($0, 0) }, w.map { min($0, 0) })
            let z = Tensor(shape: record.output.shape) { i in
                record.output.storage[i] - product(l, wp).storage[i] - max(b.storage[i % 4], 0)
                    - product(h, wn).storage[i] - min(b.storage[i % 4], 0)
            }
            let s = Tensor(shape: z.shape) { i in r.storage[i] / (z.storage[i] + (z.storage[i] >= 0 ? 1e-6 : -1e-6)) }
            let expected = Tensor(shape: shape) { i in
                record.inputs[0].storage[i] * transposed(s, w).storage[i] - l.storage[i] * transposed(s, wp).storage[i]
                    - h.storage[i] * transposed(s, wn).storage[i]
            }
            assertClose(ours, expected, rtol: 1e-4, atol: 1e-5, "z-box per feature on \(shape)")
        }
    }

    /// A layer of one's own (here: keeps the first half of the features)
    /// that does not say it keeps the size is refused by the pass rule when
    /// the composite is applied; the pass trapped before. One that conforms
    /// to `SizePreserving` takes it.
    func testPassRuleOnALayerThatChangesTheSizeIsRefused() throws {
        final class FirstHalf: Layer {
            override func apply(_ x: Tensor) -> Tensor {
                let n = x.shape[1] / 2
                return Tensor(shape: [x.shape[0], n]) { i in x.storage[(i / n) * x.shape[1] + i % n] }
            }
        }
        final class Doubling: Layer, SizePreserving {
            override func apply(_ x: Tensor) -> Tensor { x.map { 2 * $0 } }
            override func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g.map { 2 * $0 }] }
        }
        let everywhere = LayerMapComposite([(.any, PassRule())])
        XCTAssertThrowsError(try everywhere.checkedRuleMap(for: Sequential(name: "", [FirstHalf(name: "half")]))) { error in
            guard case let .ruleDoesNotApply(operation, layer, rule, reason)? = error as? CompositeError else { return XCTFail("\(error)") }
            XCTAssertEqual([operation, layer, rule], ["half", "FirstHalf", "PassRule"])
            XCTAssertEqual(reason, "the pass rule needs one input of the output's size, which FirstHalf does not have "
                           + "(a layer of one's own that keeps the size conforms to SizePreserving)")
        }
        let doubling = Doubling(name: "double")
        let map = try everywhere.checkedRuleMap(for: Sequential(name: "", [doubling]))
        let record = recordOf(doubling, randomTensor([2, 6], seed: 1))
        let r = randomTensor([2, 6], seed: 2)
        XCTAssertEqual(map[doubling].propagate(r, at: doubling, record)[0], r)
    }
}

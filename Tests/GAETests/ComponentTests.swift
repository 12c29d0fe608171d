import AbsLRPCore
import XCTest
@testable import GAE

/// The pieces of the metric: mosaics, masking fractions, sampling.
final class ComponentTests: XCTestCase {
    func testMosaicLayoutAndNearestDownscale() {
        // 8 images of 1x4x4, value = 100 * image + pixel.
        let x = Tensor(shape: [8, 1, 4, 4]) { Float(($0 / 16) * 100 + $0 % 16) }
        let small = Mosaic.downscaleNearest(x, height: 2, width: 2)
        XCTAssertEqual(Array(small.storage[0..<4]), [0, 2, 8, 10], "source index 2 * dst")
        let mosaics = Mosaic.assemble(small)
        XCTAssertEqual(mosaics.shape, [2, 1, 4, 4])
        // Mosaic 1 holds images 1 (top-left), 3 (top-right), 5 (bottom-left), 7 (bottom-right).
        XCTAssertEqual(Array(mosaics.storage[16..<32]), [100, 102, 300, 302, 108, 110, 308, 310,
                                                        500, 502, 700, 702, 508, 510, 708, 710])
        // 5 -> 2 pixels: scale 2.5 in float32, source floor(dst * 2.5) = 0, 2.
        let odd = Mosaic.downscaleNearest(Tensor(shape: [1, 1, 5, 5]) { Float($0) }, height: 2, width: 2)
        XCTAssertEqual(odd.storage, [0, 2, 10, 12])
    }

    func testScoreMosaicCentreIsOne() {
        let s = Mosaic.scoreMosaics([[-1, 2, 3, 4]], channels: 2, imageHeight: 4, imageWidth: 4)
        let plane: [Float] = [-1, -1, 2, 2,
                              -1, 1, 1, 2,
                              3, 1, 1, 4,
                              3, 3, 4, 4]
        XCTAssertEqual(s.storage, plane + plane)
    }

    func testMaskingFractionsAreTorchLinspaceInFloat32() {
        let p = StepwiseMasking.fractions(steps: 10)
        XCTAssertEqual(p.map(\.bitPattern), [0x3DCC_CCCD, 0x3E4C_CCCC, 0x3E99_9999, 0x3ECC_CCCC, 0x3EFF_FFFF,
                                             0x3F19_999A, 0x3F33_3334, 0x3F4C_CCCD, 0x3F66_6666, 0x3F80_0000])
        // int(p * C*H*W) in float32: 0.5 is 0.49999997, so 6143 entries of 3x64x64, not 6144.
        XCTAssertEqual(p.map { Int($0 * Float(12288)) }, [1228, 2457, 3686, 4915, 6143, 7372, 8601, 9830, 11059, 12288])
        XCTAssertEqual(StepwiseMasking.fractions(steps: 1), [1])
    }

    func testMaskingKeepsEarlierMasksAndRecordsEveryStep() throws {
        let classifier = TinyModel.classifier()
        let x = TinyModel.dataset(count: 2).images.reduce(into: Tensor(shape: [0, 3, 16, 16])) {
            $0 = Tensor.concatenateBatch([$0, Tensor(shape: [1] + $1.shape, storage: $1.storage)])
        }
        let first = StepwiseMasking.measure(classifier: classifier, x, targets: [1, 2]).step
        let (morf, lerf) = try StepwiseMasking.runBothOrders(from: first, classifier: classifier, steps: 4)
        for t in [morf, lerf] {
            XCTAssertEqual(t.inputs.count, 4)
            XCTAssertEqual(t.inputs[0], x)
            XCTAssertEqual(t.outputs[0], [classifier.logits(x).storage[1], classifier.logits(x).storage[12]])
            for step in 1..<4 {
                let zeros = t.inputs[step].storage.filter { $0 == 0 }.count
                XCTAssertGreaterThanOrEqual(zeros, 2 * Int(StepwiseMasking.fractions(steps: 4)[step - 1] * 768))
                for (before, after) in zip(t.inputs[step - 1].storage, t.inputs[step].storage) where before == 0 {
                    XCTAssertEqual(after, 0, "a masked entry stays masked")
                }
            }
            for b in 0..<2 {
                // Each step's map has unit L1 mass, or none once MoRF has masked everything (0.25 + 0.5 + 0.75 >= 1).
                let live = t.inputs.filter { !$0.batchSlice(b..<(b + 1)).storage.allSatisfy { $0 == 0 } }.count
                XCTAssertEqual(t.mapSum.batchSlice(b..<(b + 1)).sum, Double(live), accuracy: 4e-4)
                XCTAssertEqual(first.map.batchSlice(b..<(b + 1)).sum, 1, accuracy: 1e-4)
            }
        }
    }

    func testSeededSamplingIsAFixedFunctionOfTheSeed() {
        let sampling = SeededSampling(seed: 2024)
        let order = sampling.order(count: 12)
        XCTAssertEqual(order.sorted(), Array(0..<12))
        XCTAssertEqual(order, SeededSampling(seed: 2024).order(count: 12))
        XCTAssertNotEqual(order, SeededSampling(seed: 2025).order(count: 12))
        // Pinned: the documented scheme must not drift, or published runs stop being reproducible.
        XCTAssertEqual(SeededSampling(seed: 0).order(count: 10), Self.pinnedOrder)
        XCTAssertEqual((0..<6).map { SeededSampling(seed: 0).draw(batch: $0, mosaic: 1, probabilities: [0.25, 0.25, 0.25, 0.25]) },
                       Self.pinnedDraws)
        XCTAssertEqual(sampling.draw(batch: 3, mosaic: 0, probabilities: [0, 0, 1, 0]), 2)
        XCTAssertEqual(sampling.draw(batch: 3, mosaic: 0, probabilities: [0.5, 0.5, 0, 0]),
                       sampling.draw(batch: 3, mosaic: 0, probabilities: [0.5, 0.5, 0, 0]))
    }

    func testDrawsFollowTheProbabilities() {
        let sampling = SeededSampling(seed: 77), p = [0.1, 0.2, 0.3, 0.4]
        var counts = [0, 0, 0, 0]
        for batch in 0..<1000 { for mosaic in 0..<4 { counts[sampling.draw(batch: batch, mosaic: mosaic, probabilities: p)] += 1 } }
        for j in 0..<4 { XCTAssertEqual(Double(counts[j]) / 4000, p[j], accuracy: 0.03, "draw \(j)") }
    }

    func testPairingsAgreeAtBatchSizeFour() throws {
        let classifier = TinyModel.classifier(), data = TinyModel.dataset(count: 8)
        let reports = try PositivePairing.allCases.map { pairing in
            try GlobalAttributionEvaluation(classifier: classifier, methods: [AbsLRP(classifier: classifier)],
                                            configuration: GAEConfiguration(batchSize: 4, steps: 3, seed: 8, pairing: pairing))
                .run(on: data)
        }
        XCTAssertEqual(reports[0].results, reports[1].results)
    }

    /// Tile scores are `2 p(tile label) / p(positive label) - 1` of the
    /// positive's softmax; where both probabilities underflow to 0 in
    /// float32 (the positive confidently in class 1, no tile labelled 1) the
    /// quotient is still the finite ratio of the two, not 0 / 0.
    func testTileScoresStayFiniteWhenTheLabelsProbabilitiesUnderflow() {
        // One mosaic (B = 4), K = 3; positive = image 0 (label 0).
        let ordinary: [Float] = [1, 2, 0.5], confident: [Float] = [0, 200, 1]
        let labels = [0, 2, 0, 2]
        for pairing in PositivePairing.allCases {
            for row in [ordinary, confident] {
                let logits = Tensor(shape: [4, 3], storage: row + Array(repeating: 0, count: 9))
                let scores = pairing.tileScores(positives: [0], logits: logits, labels: labels)
                let p = row.map { Double(exp($0)) }
                for q in 0..<4 {
                    XCTAssertEqual(Double(scores[0][q]), 2 * p[labels[q]] / p[labels[0]] - 1, accuracy: 1e-5,
                                   "\(pairing) \(row) tile \(q)")
                }
            }
        }
        XCTAssertEqual(softmax([0, 200, 1])[0], 0, "the case: p(label) is 0 in float32")
    }

    static let pinnedOrder = [1, 2, 5, 7, 0, 8, 4, 3, 9, 6]
    static let pinnedDraws = [2, 1, 1, 3, 3, 3]
}

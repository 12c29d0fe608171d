import XCTest
@testable import AbsLRPCore

/// `Tape.releaseRecords(afterPasses:)`: a record is dropped only when every
/// releasing pass is done with it, inner (non-releasing) passes never drop
/// one, and the released passes give the same relevance as unreleased ones.
final class TapeReleaseTests: XCTestCase {
    private func affineLayers(_ classifier: Classifier) -> [Module] {
        classifier.network.allModules.filter { $0 is AffineLayer }
    }

    func testRecordsAreDroppedAfterTheLastReleasingPass() {
        for classifier in [TinyModels.resnet(), TinyModels.vgg(), TinyModels.vit()] {
            let x = TinyModels.input(for: classifier, batch: 2)
            let (logits, tape) = classifier.recordedForward(x)
            let rules = classifier.absLRPComposite.ruleMap(for: classifier.network)
            let seed = Tensor.oneHot(logits.argmaxRows(), classes: logits.shape[1])
            let unreleased = classifier.backward(seed, tape: tape, rules: rules).input
            XCTAssertTrue(affineLayers(classifier).allSatisfy { tape.has($0) }, "a pass that does not release kept every record")

            tape.releaseRecords(afterPasses: 2)
            let first = classifier.backward(seed, tape: tape, rules: rules, releasingRecords: true).input
            XCTAssertTrue(affineLayers(classifier).allSatisfy { tape.has($0) }, "one of two passes released nothing")
            let second = classifier.backward(seed, tape: tape, rules: rules, releasingRecords: true).input
            XCTAssertTrue(affineLayers(classifier).allSatisfy { !tape.has($0) }, "after both passes every layer's record is gone")
            XCTAssertEqual(first, unreleased, classifier.configuration.name)
            XCTAssertEqual(second, unreleased, classifier.configuration.name)
        }
    }

    /// absLRP's two concurrent passes release the tape as they go and give
    /// the relevance of passes over a tape that keeps its records.
    func testAbsLRPWithReleaseEqualsPassesOverAKeptTape() throws {
        for classifier in [TinyModels.resnet(), TinyModels.vgg(), TinyModels.vit()] {
            let x = TinyModels.input(for: classifier, batch: 2)
            let explanation = try AbsLRP(classifier: classifier).explain(x)
            let (logits, tape) = classifier.recordedForward(x)
            let rules = classifier.absLRPComposite.ruleMap(for: classifier.network)
            let positiveSeed = Tensor.oneHot(logits.argmaxRows(), classes: logits.shape[1])
            let negativeSeed = positiveSeed.map { 1 - $0 }.normalizedSum()
            let positive = classifier.backward(positiveSeed, tape: tape, rules: rules).input
            let negative = classifier.backward(negativeSeed, tape: tape, rules: rules).input
            // the concurrent passes run BLAS single-threaded: sums may be ordered differently, to float rounding
            assertClose(explanation.relevance, (positive - negative).normalizedMax(), atol: 1e-6, classifier.configuration.name)
        }
    }
}

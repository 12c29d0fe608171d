import AbsLRPCore
import XCTest
@testable import GAE

/// Every score of the reference's GAE fixtures, with their batch order and
/// positive draws injected, within 1e-3 (the fixtures' README). The
/// published pairing reproduces all four; the consistent one, the default,
/// equals it at batch size 4.
final class GAEReferenceTests: XCTestCase {
    /// Runs `fixture` with `pairing` and checks every score; prints the largest difference per score.
    private func check(_ name: String, pairing: PositivePairing, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try GAEFixture(name)
        let report = try fixture.run(pairing: pairing)
        XCTAssertEqual(report.results.count, fixture.expected["gae"]!.count, "\(name): positives", file: file, line: line)
        var differences: [String] = []
        for score in GAEFixture.scoreNames {
            let ours = report.results.map { $0.score(score) }, theirs = fixture.expected[score]!
            guard ours.count == theirs.count else { continue }
            let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0
            differences.append("\(score) \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-3, "\(name) \(pairing) \(score): ours \(ours), reference \(theirs)",
                                     file: file, line: line)
        }
        print("GAE fixture \(name) (\(pairing)): max |difference| " + differences.joined(separator: ", "))
    }

    func testResNetBatch4MatchesReference() throws { try check("gae_resnet_mini_b4", pairing: .reference) }

    func testResNetBatch8MatchesReference() throws { try check("gae_resnet_mini_b8", pairing: .reference) }

    func testViTBatch4MatchesReference() throws { try check("gae_vit_mini_b4", pairing: .reference) }

    func testViTBatch8MatchesReference() throws { try check("gae_vit_mini_b8", pairing: .reference) }

    /// At batch size 4 both pairings are the same computation (ViT: the cheaper fixture in debug builds).
    func testViTBatch4ConsistentPairingAgrees() throws { try check("gae_vit_mini_b4", pairing: .consistent) }
}

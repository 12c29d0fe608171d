import XCTest
@testable import AbsLRPCore

/// `ChannelBlocks`' fused copies into and out of oneDNN's `nChw<b>c`
/// against naive loops over the layout's formula, bit for bit: blocks of 16
/// and 8, channel counts that leave a padded last block, pixel counts that
/// end in a partial tile and in a partial 4x4 square.
final class ChannelBlocksTests: XCTestCase {
    func testBlockedRatioAndUnblockedProductMatchNaiveLoops() {
        let cases: [(images: Int, channels: Int, pixels: Int, block: Int)] = [
            (2, 32, 64, 16), (2, 20, 49, 16), (1, 16, 130, 16), (3, 13, 7, 8), (2, 8, 1, 8), (1, 3, 66, 16),
        ]
        for (i, t) in cases.enumerated() {
            let shape = [t.images, t.channels, t.pixels, 1], blocks = (t.channels + t.block - 1) / t.block
            let g = randomTensor(shape, seed: UInt64(300 + i)), y = randomTensor(shape, seed: UInt64(310 + i))
            let x = randomTensor(shape, seed: UInt64(320 + i))
            let blockedCount = t.images * blocks * t.pixels * t.block
            var expected = [Float](repeating: 0, count: blockedCount)
            for n in 0..<t.images {
                for c in 0..<t.channels {
                    for p in 0..<t.pixels {
                        let plain = (n * t.channels + c) * t.pixels + p
                        expected[((n * blocks + c / t.block) * t.pixels + p) * t.block + c % t.block] =
                            g.storage[plain] / (abs(y.storage[plain]) + relevanceEpsilon)
                    }
                }
            }
            var blocked = [Float](repeating: .nan, count: blockedCount)
            g.storage.withUnsafeBufferPointer { gs in
                y.storage.withUnsafeBufferPointer { ys in
                    blocked.withUnsafeMutableBufferPointer { out in
                        ChannelBlocks.blockRatio(gs.baseAddress!, dividedBy: ys.baseAddress!, images: t.images, channels: t.channels,
                                                 pixels: t.pixels, block: t.block, into: out.baseAddress!)
                    }
                }
            }
            XCTAssertEqual(blocked.map(\.bitPattern), expected.map(\.bitPattern), "case \(i): blocked ratio")
            let result = randomTensor([blockedCount], seed: UInt64(330 + i))
            var unblocked = [Float](repeating: .nan, count: x.count), naive = unblocked
            for n in 0..<t.images {
                for c in 0..<t.channels {
                    for p in 0..<t.pixels {
                        let plain = (n * t.channels + c) * t.pixels + p
                        naive[plain] = result.storage[((n * blocks + c / t.block) * t.pixels + p) * t.block + c % t.block] * x.storage[plain]
                    }
                }
            }
            result.storage.withUnsafeBufferPointer { rs in
                x.storage.withUnsafeBufferPointer { xs in
                    unblocked.withUnsafeMutableBufferPointer { out in
                        ChannelBlocks.unblockProduct(rs.baseAddress!, times: xs.baseAddress!, images: t.images, channels: t.channels,
                                                     pixels: t.pixels, block: t.block, into: out.baseAddress!)
                    }
                }
            }
            XCTAssertEqual(unblocked.map(\.bitPattern), naive.map(\.bitPattern), "case \(i): unblocked product")
        }
    }

    /// The 4x4-square transpose on every remainder of rows and columns.
    func testTransposeMatchesNaiveLoop() {
        for rows in 1...9 {
            for columns in 1...9 {
                let from = (0..<(rows * 11)).map { Float($0) }
                var to = [Float](repeating: -1, count: columns * 13)
                from.withUnsafeBufferPointer { f in
                    to.withUnsafeMutableBufferPointer { t in
                        ChannelBlocks.transpose(f.baseAddress!, stride: 11, into: t.baseAddress!, stride: 13, rows: rows, columns: columns)
                    }
                }
                for r in 0..<rows {
                    for c in 0..<columns { XCTAssertEqual(to[c * 13 + r], from[r * 11 + c], "\(rows)x\(columns) at \(r), \(c)") }
                }
                for c in 0..<columns {
                    for r in rows..<13 { XCTAssertEqual(to[c * 13 + r], -1, "\(rows)x\(columns): wrote past row \(rows)") }
                }
            }
        }
    }
}

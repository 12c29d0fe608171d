import AbsLRPCore
import Foundation
import XCTest
@testable import GAE
import TestFixtures

/// Data-set files whose sizes, headers or compression are wrong are refused
/// with the file named, before anything is allocated from their numbers.
final class DatasetValidationTests: XCTestCase {
    private var folder: URL!
    private let gray = PreprocessingConfig(resizeSize: .init(height: 2, width: 2), cropSize: .init(height: 2, width: 2),
                                           mean: [0], std: [1], channels: 1)
    /// One 2x2 image.
    private let imageFile: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 10, 20, 30, 40]
    /// `imageFile` as Python's `gzip.compress(data, mtime=0)` writes it.
    private let gzipped: [UInt8] = [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 99, 96, 224, 96, 102, 96, 96, 96, 4, 98, 38, 16,
                                    230, 18, 145, 211, 0, 0, 139, 176, 216, 87, 20, 0, 0, 0]
    private let labelFile: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 1, 3]

    override func setUpWithError() throws { folder = Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func open(images: [UInt8], labels: [UInt8]? = nil) throws -> IDXDataset {
        let imagesURL = folder.appendingPathComponent("x-images-idx3-ubyte"), labelsURL = folder.appendingPathComponent("x-labels-idx1-ubyte")
        try Data(images).write(to: imagesURL)
        try Data(labels ?? labelFile).write(to: labelsURL)
        return try IDXDataset(images: imagesURL, labels: labelsURL, preprocessing: gray)
    }

    private func assertRefused(images: [UInt8], labels: [UInt8]? = nil, mentioning parts: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try open(images: images, labels: labels), file: file, line: line) { error in
            guard case .invalidDataset? = error as? GAEError else { return XCTFail("\(error)", file: file, line: line) }
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line) }
        }
    }

    func testValidFilesPlainAndGzipped() throws {
        XCTAssertEqual(try open(images: imageFile).image(at: 0).image.storage, [10, 20, 30, 40].map { Float($0) / 255 })
        XCTAssertEqual(try open(images: gzipped).image(at: 0).image.storage, [10, 20, 30, 40].map { Float($0) / 255 })
        // Two concatenated members are one stream (`cat a.gz b.gz`): here two
        // copies of the file, 40 bytes for a header that declares 20.
        let url = folder.appendingPathComponent("twice.gz")
        try Data(gzipped + gzipped).write(to: url)
        XCTAssertEqual(try GzipReader.read(url), imageFile + imageFile)
    }

    /// `16 + N * H * W` overflows Int for these sizes: refused, not trapped.
    func testHeaderSizesThatOverflowAreRefused() {
        let huge: [UInt8] = [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4]
        assertRefused(images: huge, mentioning: ["4294967295 images of 4294967295x4294967295", "more than"])
    }

    func testZeroSizesAreRefused() {
        for (n, h, w) in [(0, 2, 2), (1, 0, 2), (1, 2, 0)] as [(UInt8, UInt8, UInt8)] {
            assertRefused(images: [0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, h, 0, 0, 0, w], mentioning: ["need at least one image"])
        }
    }

    func testFilesLongerOrShorterThanDeclaredAreRefused() {
        assertRefused(images: imageFile + [0], mentioning: ["1 images of 2x2 need 20 bytes", "has 21", "bytes after the last item"])
        assertRefused(images: Array(imageFile.dropLast()), mentioning: ["has 19", "truncated"])
        assertRefused(images: imageFile, labels: labelFile + [1], mentioning: ["1 labels need 9 bytes", "has 10"])
    }

    func testDamagedGzipIsRefused() {
        var badCRC = gzipped
        badCRC[gzipped.count - 8] ^= 1
        assertRefused(images: badCRC, mentioning: ["damaged gzip data", "incorrect data check"])
        var badLength = gzipped
        badLength[gzipped.count - 4] ^= 1
        assertRefused(images: badLength, mentioning: ["damaged gzip data", "incorrect length check"])
        for cut in [1, 4, 8, 20] {
            assertRefused(images: Array(gzipped.dropLast(cut)), mentioning: ["damaged gzip data", "cut before its trailer"])
        }
        assertRefused(images: gzipped + [0, 0, 0], mentioning: ["3 bytes after the last gzip member"])
    }

    func testInflatedSizeIsBounded() throws {
        let url = folder.appendingPathComponent("big.gz")
        try Data(gzipped).write(to: url)
        XCTAssertEqual(try GzipReader.read(url, limit: 36).count, 20)
        XCTAssertThrowsError(try GzipReader.read(url, limit: 19)) { error in
            XCTAssertTrue("\(error)".contains("larger than 19 bytes"), "\(error)")
        }
    }

    /// A file larger than the limit (here a sparse 16 GiB one) is refused
    /// from its size, before any of it is read into memory.
    func testAFileLargerThanTheLimitIsRefusedBeforeItIsRead() throws {
        let url = folder.appendingPathComponent("huge.idx")
        try Data().write(to: url)
        XCTAssertEqual(truncate(url.path, 1 << 34), 0)
        XCTAssertThrowsError(try GzipReader.read(url, limit: 1000)) { error in
            XCTAssertTrue("\(error)".contains("larger than 1000 bytes"), "\(error)")
        }
    }
}

/// Safetensors data sets: labels of rank 1, finite inputs, no empty tensors.
final class SafetensorsDatasetValidationTests: XCTestCase {
    private func write(_ tensors: [String: Tensor], labels: (shape: [Int], values: [Int])) throws -> URL {
        let url = Fixtures.temporaryDirectory().appendingPathComponent("data.safetensors")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SafetensorsWriter.write(tensors: tensors, integers: ["label": labels], to: url)
        return url
    }

    func testRankTwoLabelIsRefused() throws {
        let url = try write(["input": Tensor(shape: [2, 1, 2, 2], repeating: 0)], labels: ([2, 1], [0, 1]))
        XCTAssertThrowsError(try SafetensorsDataset(url: url)) { error in
            XCTAssertTrue("\(error)".contains("'label' has shape [2, 1]"), "\(error)")
        }
    }

    func testNonFiniteInputNamesTheImage() throws {
        var input = Tensor(shape: [2, 1, 2, 2], repeating: 0)
        input.storage[6] = .infinity
        let url = try write(["input": input], labels: ([2], [0, 1]))
        XCTAssertThrowsError(try SafetensorsDataset(url: url)) { error in
            XCTAssertTrue("\(error)".contains("inf at index [1, 0, 1, 0] (image 1)"), "\(error)")
        }
    }

    func testEmptyInputIsRefused() throws {
        let url = try write(["input": Tensor(shape: [0, 1, 2, 2], repeating: 0)], labels: ([0], []))
        XCTAssertThrowsError(try SafetensorsDataset(url: url)) { error in
            XCTAssertTrue("\(error)".contains("none of them 0"), "\(error)")
        }
    }
}

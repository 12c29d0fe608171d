import Foundation
import XCTest
import AbsLRPCore
import TestFixtures

/// Decoding (against Pillow), preprocessing (against torchvision), PNG
/// encoding, bad input, and heatmap rendering (against matplotlib).
/// Fixtures: `Tests/Fixtures/images/` (see the README there and in `extra/`).
final class ImagingTests: TemporaryFolderTestCase {
    // MARK: - Helpers

    private static let stems = [
        "scene_640x427", "scene_300x500_progressive", "gray_128x96",
        "rgba_200x150", "palette_97x61", "rgb_77x53",
    ]

    private static let expected: SafetensorsFile = {
        try! SafetensorsFile(contentsOf: Fixtures.url("images/preprocess.expected.safetensors"))
    }()

    private func fixtureURL(_ stem: String) -> URL {
        Fixtures.url("images/\(stem)\(stem.hasPrefix("scene") || stem.hasPrefix("gray") ? ".jpg" : ".png")")
    }

    /// Interleaved H x W x 3 bytes of the fixture's `STEM.decoded` (stored C, H, W).
    private func expectedPixels(_ stem: String) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        let info = try Self.expected.info("\(stem).decoded")
        let planar = try Self.expected.bytes("\(stem).decoded")
        let height = info.shape[1], width = info.shape[2], plane = height * width
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        for i in 0..<plane {
            for c in 0..<3 { pixels[3 * i + c] = planar[c * plane + i] }
        }
        return (width, height, pixels)
    }

    /// Fails with the number and first location of differing bytes.
    private func assertPixelsEqual(_ image: RGBImage, width: Int, height: Int, _ pixels: [UInt8], _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        guard image.width == width, image.height == height else {
            XCTFail("\(label): size \(image.width)x\(image.height) != expected \(width)x\(height)", file: file, line: line)
            return
        }
        let differing = zip(image.pixels, pixels).enumerated().filter { $0.element.0 != $0.element.1 }
        if let first = differing.first {
            let pixel = first.offset / 3
            XCTFail("\(label): \(differing.count) of \(pixels.count) bytes differ; first at x \(pixel % width), "
                    + "y \(pixel / width), channel \(first.offset % 3): \(first.element.0) vs \(first.element.1)",
                    file: file, line: line)
        }
    }

    private func assertDecodedEqualsFixture(_ stem: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try RGBImage.decode(contentsOf: fixtureURL(stem))
        let expected = try expectedPixels(stem)
        assertPixelsEqual(image, width: expected.width, height: expected.height, expected.pixels, stem,
                          file: file, line: line)
    }

    /// Decodes `extra/NAME` and compares it with Pillow's bytes in `extra/NAME-without-extension.rgb`.
    private func assertExtraMatchesPillow(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Fixtures.url("images/extra/\(name)")
        let size = name.split(separator: "_").last!.split(separator: ".").first!.split(separator: "x").map { Int($0)! }
        let expected = try [UInt8](Data(contentsOf: url.deletingPathExtension().appendingPathExtension("rgb")))
        let image = try RGBImage.decode(contentsOf: url)
        assertPixelsEqual(image, width: size[0], height: size[1], expected, name, file: file, line: line)
    }

    /// A file in the temporary directory holding `bytes`.
    private func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = parent.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// The first `fraction` of a fixture's bytes, written under `name`.
    private func truncatedCopy(of fixture: String, fraction: Double, name: String) throws -> URL {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.url("images/\(fixture)")))
        return try temporaryFile(name, Array(bytes.prefix(Int(Double(bytes.count) * fraction))))
    }

    private func decodeError(_ url: URL, maxPixels: Int = RGBImage.defaultMaxPixels,
                             file: StaticString = #filePath, line: UInt = #line) -> ImageDecodeError? {
        do {
            _ = try RGBImage.decode(contentsOf: url, maxPixels: maxPixels)
            XCTFail("decoding \(url.lastPathComponent) should fail", file: file, line: line)
        } catch let error as ImageDecodeError {
            XCTAssertFalse(error.description.isEmpty, file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
        return nil
    }

    private func assertCorrupt(_ url: URL, mentioning words: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case let .corrupt(path, reason)? = decodeError(url, file: file, line: line) else {
            XCTFail("expected .corrupt for \(url.lastPathComponent)", file: file, line: line)
            return
        }
        XCTAssertEqual(path, url.path, file: file, line: line)
        XCTAssertTrue(reason.contains(words), "reason '\(reason)' should mention '\(words)'", file: file, line: line)
    }

    private func assertTooLarge(_ url: URL, maxPixels: Int, width: Int, height: Int,
                                file: StaticString = #filePath, line: UInt = #line) {
        let error = decodeError(url, maxPixels: maxPixels, file: file, line: line)
        XCTAssertEqual(error, .tooLarge(path: url.path, width: width, height: height, limit: maxPixels),
                       file: file, line: line)
    }

    private func raw(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: Fixtures.url("images/extra/\(name)")))
    }

    /// A deterministic test image with every byte value present.
    private func patternImage(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 5) })
    }

    // MARK: - Decoding: the reference fixtures, byte for byte

    func testDecodeBaselineJPEGEqualsPillow() throws { try assertDecodedEqualsFixture("scene_640x427") }
    func testDecodeProgressiveJPEGEqualsPillow() throws { try assertDecodedEqualsFixture("scene_300x500_progressive") }
    func testDecodeGrayscaleJPEGEqualsPillow() throws { try assertDecodedEqualsFixture("gray_128x96") }
    func testDecodeRGBAPNGEqualsPillow() throws { try assertDecodedEqualsFixture("rgba_200x150") }
    func testDecodePalettePNGEqualsPillow() throws { try assertDecodedEqualsFixture("palette_97x61") }
    func testDecodeRGBPNGEqualsPillow() throws { try assertDecodedEqualsFixture("rgb_77x53") }

    func testDecodeFromPathString() throws {
        let url = fixtureURL("rgb_77x53")
        XCTAssertEqual(try RGBImage.decode(contentsOfFile: url.path), try RGBImage.decode(contentsOf: url))
    }

    func testFormatIsToldByContentNotName() throws {
        let png = try Data(contentsOf: fixtureURL("rgb_77x53"))
        let misnamed = parent.appendingPathComponent("actually_png.jpg")
        try png.write(to: misnamed)
        XCTAssertEqual(try RGBImage.decode(contentsOf: misnamed), try RGBImage.decode(contentsOf: fixtureURL("rgb_77x53")))
    }

    // MARK: - Decoding: extra PNG and JPEG variants against Pillow

    func testPNGBitDepthsAndColorTypesMatchPillow() throws {
        for name in ["gray1_13x7.png", "gray2_13x7.png", "gray4_13x7.png", "gray8_13x7.png", "gray16_13x7.png",
                     "graya8_13x7.png", "graya16_13x7.png", "rgb16_13x7.png", "rgba8_13x7.png", "rgba16_13x7.png"] {
            try assertExtraMatchesPillow(name)
        }
    }

    func testPNGPalettesAndTransparencyMatchPillow() throws {
        for name in ["palette1_13x7.png", "palette2_13x7.png", "palette4_13x7.png", "palette8trns_13x7.png",
                     "gray8trns_13x7.png", "rgb8trns_13x7.png"] {
            try assertExtraMatchesPillow(name)
        }
    }

    func testInterlacedPNGsMatchPillow() throws {
        try assertExtraMatchesPillow("rgb8interlaced_19x11.png")
        try assertExtraMatchesPillow("graya16interlaced_19x11.png")
    }

    func testJPEGChromaSubsamplingsMatchPillow() throws {
        try assertExtraMatchesPillow("rgb444_41x30.jpg")
        try assertExtraMatchesPillow("rgb422_41x30.jpg")
    }

    func testCMYKAndYCCKJPEGsConvertAsPillow() throws {
        try assertExtraMatchesPillow("cmyk_24x16.jpg")
        try assertExtraMatchesPillow("ycck_24x16.jpg")
    }

    func testProbeReadsSizeAndChannels() throws {
        let cases: [(String, Int, Int, Int)] = [
            ("images/scene_640x427.jpg", 640, 427, 3), ("images/gray_128x96.jpg", 128, 96, 1),
            ("images/rgba_200x150.png", 200, 150, 4), ("images/palette_97x61.png", 97, 61, 3),
            ("images/extra/graya8_13x7.png", 13, 7, 2), ("images/extra/cmyk_24x16.jpg", 24, 16, 4),
            ("images/extra/huge_60000x60000.png", 60000, 60000, 3),
            ("images/extra/huge_60000x60000.jpg", 60000, 60000, 3),
        ]
        for (path, width, height, channels) in cases {
            let header = try RGBImage.probe(contentsOf: Fixtures.url(path))
            XCTAssertEqual([header.width, header.height, header.channels], [width, height, channels], path)
        }
    }

    // MARK: - Decoding: bad input

    func testMissingFileIsFileNotFound() {
        let url = parent.appendingPathComponent("nothing-here.png")
        XCTAssertEqual(decodeError(url), .fileNotFound(path: url.path))
        XCTAssertThrowsError(try RGBImage.probe(contentsOf: url)) {
            XCTAssertEqual($0 as? ImageDecodeError, .fileNotFound(path: url.path))
        }
    }

    func testDirectoryIsUnreadable() {
        guard case .unreadable(_, let reason)? = decodeError(parent) else {
            return XCTFail("a directory should be .unreadable")
        }
        XCTAssertTrue(reason.contains("directory"), reason)
    }

    func testTruncatedJPEGIsCorrupt() throws {
        assertCorrupt(try truncatedCopy(of: "scene_640x427.jpg", fraction: 0.6, name: "cut.jpg"), mentioning: "truncated")
        assertCorrupt(try truncatedCopy(of: "scene_300x500_progressive.jpg", fraction: 0.5, name: "cut_progressive.jpg"),
                      mentioning: "truncated")
        assertCorrupt(try truncatedCopy(of: "scene_640x427.jpg", fraction: 0.002, name: "cut_header.jpg"),
                      mentioning: "truncated")
    }

    func testTruncatedPNGIsCorrupt() throws {
        assertCorrupt(try truncatedCopy(of: "rgba_200x150.png", fraction: 0.5, name: "cut.png"), mentioning: "truncated")
        assertCorrupt(try truncatedCopy(of: "rgb_77x53.png", fraction: 0.002, name: "cut_header.png"), mentioning: "truncated")
        let signatureOnly = try temporaryFile("cut_signature.png", [0x89, 0x50, 0x4E, 0x47, 0x0D])
        assertCorrupt(signatureOnly, mentioning: "truncated")
    }

    func testDamagedPNGIsCorrupt() throws {
        var bytes = try [UInt8](Data(contentsOf: fixtureURL("rgb_77x53")))
        bytes[bytes.count / 2] ^= 0xFF  // inside the compressed IDAT data
        assertCorrupt(try temporaryFile("damaged.png", bytes), mentioning: "invalid PNG data")
        var header = try [UInt8](Data(contentsOf: fixtureURL("rgb_77x53")))
        header[29] ^= 0x01  // last byte of the IHDR checksum
        assertCorrupt(try temporaryFile("bad_crc.png", header), mentioning: "IHDR: CRC error")
    }

    func testGarbageNamedPNGIsUnsupported() throws {
        let url = try temporaryFile("garbage.png", Array("this is not an image, just text\n".utf8))
        guard case let .unsupportedFormat(path, reason)? = decodeError(url) else {
            return XCTFail("expected .unsupportedFormat")
        }
        XCTAssertEqual(path, url.path)
        XCTAssertTrue(reason.contains("not a PNG or JPEG"), reason)
    }

    func testGarbageNamedJPGIsUnsupported() throws {
        let url = try temporaryFile("garbage.jpg", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        guard case .unsupportedFormat? = decodeError(url) else { return XCTFail("expected .unsupportedFormat") }
    }

    func testEmptyFileIsUnsupported() throws {
        let url = try temporaryFile("empty.jpg", [])
        XCTAssertEqual(decodeError(url), .unsupportedFormat(path: url.path, reason: "the file is empty"))
    }

    func testPNGHeaderAboveLimitIsRefusedBeforeDecoding() {
        // The file has no image data: decoding it would report truncation, not size.
        assertTooLarge(Fixtures.url("images/extra/huge_60000x60000.png"), maxPixels: RGBImage.defaultMaxPixels,
                       width: 60000, height: 60000)
    }

    func testJPEGHeaderAboveLimitIsRefusedBeforeDecoding() {
        assertTooLarge(Fixtures.url("images/extra/huge_60000x60000.jpg"), maxPixels: RGBImage.defaultMaxPixels,
                       width: 60000, height: 60000)
    }

    func testSmallPixelLimitRefusesValidImages() {
        assertTooLarge(fixtureURL("scene_640x427"), maxPixels: 640 * 427 - 1, width: 640, height: 427)
        assertTooLarge(fixtureURL("rgb_77x53"), maxPixels: 1000, width: 77, height: 53)
        XCTAssertNoThrow(try RGBImage.decode(contentsOf: fixtureURL("rgb_77x53"), maxPixels: 77 * 53))
    }

    // MARK: - PNG encoding

    func testPNGEncoderRoundTripsRGB() throws {
        let image = patternImage(width: 31, height: 17)
        let url = parent.appendingPathComponent("round.png")
        try image.writePNG(to: url)
        XCTAssertEqual(try RGBImage.decode(contentsOf: url), image)
        XCTAssertEqual(try RGBImage.probe(contentsOf: url).channels, 3)
        XCTAssertEqual(try contents(parent), ["round.png"], "no temporary file may remain")
    }

    func testPNGEncoderWritesRGBAAndDecodingDropsAlpha() throws {
        let image = patternImage(width: 9, height: 12)
        let alpha: [UInt8] = (0..<(9 * 12)).map { (i: Int) -> UInt8 in i % 3 == 0 ? 0 : UInt8(i * 2) }
        let url = parent.appendingPathComponent("alpha.png")
        try image.writePNG(to: url, alpha: alpha)
        XCTAssertEqual(try RGBImage.probe(contentsOf: url).channels, 4)
        XCTAssertEqual(try RGBImage.decode(contentsOf: url), image, "alpha is dropped, never composed")
    }

    func testWritePNGReplacesAnExistingFile() throws {
        let url = parent.appendingPathComponent("out.png")
        try patternImage(width: 5, height: 5).writePNG(to: url)
        let second = RGBImage(width: 3, height: 2, filledWith: (9, 8, 7))
        try second.writePNG(to: url)
        XCTAssertEqual(try RGBImage.decode(contentsOf: url), second)
        XCTAssertEqual(try contents(parent), ["out.png"])
    }

    func testWritePNGIntoMissingDirectoryFails() throws {
        let url = parent.appendingPathComponent("missing/out.png")
        XCTAssertThrowsError(try patternImage(width: 4, height: 4).writePNG(to: url)) { error in
            guard case let .cannotWrite(path, reason)? = error as? OutputError else {
                return XCTFail("expected OutputError.cannotWrite, got \(error)")
            }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("No such file or directory"), reason)
        }
        XCTAssertEqual(try contents(parent), [])
    }

    func testWritePNGBelowARegularFileFails() throws {
        let blocker = try temporaryFile("file.txt", Array("x".utf8))
        let url = blocker.appendingPathComponent("out.png")
        XCTAssertThrowsError(try patternImage(width: 4, height: 4).writePNG(to: url)) { error in
            XCTAssertTrue("\(error)".contains("Not a directory"), "\(error)")
        }
        XCTAssertEqual(try contents(parent), ["file.txt"])
    }

    func testFailedRenameLeavesNoPartialFile() throws {
        // The PNG is encoded completely, then cannot replace a directory of the same name.
        let url = parent.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try patternImage(width: 4, height: 4).writePNG(to: url)) { error in
            XCTAssertTrue("\(error)".contains("cannot move the finished file into place"), "\(error)")
        }
        XCTAssertEqual(try contents(parent), ["taken.png"], "the temporary file must be removed")
    }

    // MARK: - Tensors and grey

    func testToTensorIsChannelPlanarOver255() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 51, 255, 102, 153, 204])
        let t = image.toTensor()
        XCTAssertEqual(t.shape, [3, 1, 2])
        XCTAssertEqual(t.storage, [0, 102, 51, 153, 255, 204].map { Float($0) / 255 })
        XCTAssertEqual(RGBImage(tensor: t), image)
    }

    func testGrayscaleIsPillowsRoundedFixedPointFormula() {
        // Values from Pillow's convert('L'); the truncating /1000 formula gives 123, 149, 70, 1, 250.
        let colors: [[UInt8]] = [[10, 200, 30], [255, 0, 0], [0, 255, 0], [0, 0, 255], [123, 45, 67], [1, 2, 3],
                                 [250, 251, 252]]
        let image = RGBImage(width: colors.count, height: 1, pixels: colors.flatMap { $0 })
        XCTAssertEqual(image.grayscale(), [124, 76, 150, 29, 71, 2, 251])
        XCTAssertEqual(image.grayscaleTensor().shape, [1, 1, 7])
    }

    func testGrayscaleOfGreyJPEGIsItsOwnChannel() throws {
        let image = try RGBImage.decode(contentsOf: fixtureURL("gray_128x96"))
        XCTAssertEqual(image.grayscale(), stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] })
    }

    // MARK: - Resizing and preprocessing

    /// Separable antialiased-bilinear weights in double, written straight from
    /// the formula: for output i, `(source index, weight)` pairs.
    private func naiveWeights(input: Int, output: Int) -> [[(Int, Double)]] {
        let scale = Double(input) / Double(output)
        let support = max(scale, 1), invscale = scale >= 1 ? 1 / scale : 1
        return (0..<output).map { i in
            let center = scale * (Double(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), input)
            let raw = (lo..<hi).map { j in (j, max(0, 1 - abs((Double(j) - center + 0.5) * invscale))) }
            let total = raw.reduce(0) { $0 + $1.1 }
            return raw.map { ($0.0, $0.1 / total) }
        }
    }

    private func naiveResize(_ t: Tensor, height: Int, width: Int) -> Tensor {
        let (c, inH, inW) = (t.shape[0], t.shape[1], t.shape[2])
        let wy = naiveWeights(input: inH, output: height), wx = naiveWeights(input: inW, output: width)
        var out = Tensor(shape: [c, height, width])
        for ch in 0..<c {
            for y in 0..<height {
                for x in 0..<width {
                    var sum = 0.0
                    for (sy, a) in wy[y] {
                        for (sx, b) in wx[x] { sum += a * b * Double(t[ch, sy, sx]) }
                    }
                    out[ch, y, x] = Float(sum)
                }
            }
        }
        return out
    }

    private func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed
        return Tensor(shape: shape) { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
    }

    func testResizeMatchesNaiveAntialiasedFilterOnOddSizes() {
        let cases: [([Int], Int, Int)] = [
            ([2, 7, 5], 13, 11),   // upscale both axes
            ([3, 37, 29], 9, 5),   // downscale both axes by non-integer factors
            ([1, 20, 9], 7, 16),   // down in height, up in width
            ([1, 11, 13], 11, 4),  // width only
            ([2, 5, 3], 17, 3),    // height only
        ]
        for (shape, height, width) in cases {
            let input = randomTensor(shape, seed: UInt64(shape.reduce(0, +)))
            let resized = resizeBilinearAntialiased(input, height: height, width: width)
            assertClose(resized, naiveResize(input, height: height, width: width), atol: 2e-6,
                        "\(shape) -> \(height)x\(width)")
        }
    }

    func testUpscalingIsPlainBilinear() {
        let input = randomTensor([1, 4, 6], seed: 3)
        let resized = resizeBilinearAntialiased(input, height: 4, width: 15)
        let scale = 6.0 / 15.0
        for x in 0..<15 {
            let source = max((Double(x) + 0.5) * scale - 0.5, 0)  // align_corners=False
            let x0 = Int(source), x1 = min(x0 + 1, 5), f = Float(source - Double(x0))
            for y in 0..<4 {
                XCTAssertEqual(resized[0, y, x], input[0, y, x0] * (1 - f) + input[0, y, x1] * f, accuracy: 1e-6)
            }
        }
    }

    func testResizeToSameSizeIsIdentityAndKeepsLeadingAxes() {
        let input = randomTensor([2, 3, 5, 4], seed: 9)
        XCTAssertEqual(resizeBilinearAntialiased(input, height: 5, width: 4), input)
        XCTAssertEqual(resizeBilinearAntialiased(input, height: 3, width: 8).shape, [2, 3, 3, 8])
    }

    func testCenterCropRoundsHalfToEven() {
        let input = Tensor(shape: [1, 9, 7]) { Float($0) }
        // (9 - 4) / 2 = 2.5 -> 2 (banker's rounding); (7 - 4) / 2 = 1.5 -> 2.
        let crop = centerCrop(input, height: 4, width: 4)
        XCTAssertEqual(crop.shape, [1, 4, 4])
        XCTAssertEqual(crop[0, 0, 0], input[0, 2, 2])
        XCTAssertEqual(crop[0, 3, 3], input[0, 5, 5])
    }

    func testCNNPreprocessingMatchesReference() throws {
        for stem in Self.stems {
            let input = PreprocessingConfig.imagenetCNN().preprocess(try RGBImage.decode(contentsOf: fixtureURL(stem)))
            assertClose(input, try Self.expected.tensor("\(stem).cnn"), atol: 1e-5, "\(stem).cnn")
        }
    }

    func testViTPreprocessingMatchesReference() throws {
        for stem in Self.stems {
            let input = PreprocessingConfig.imagenetViT().preprocess(try RGBImage.decode(contentsOf: fixtureURL(stem)))
            assertClose(input, try Self.expected.tensor("\(stem).vit"), atol: 1e-5, "\(stem).vit")
        }
    }

    func testOneChannelPreprocessingUsesPillowGrey() throws {
        let image = try RGBImage.decode(contentsOf: fixtureURL("gray_128x96"))
        let grey = PreprocessingConfig(resizeSize: .init(32), cropSize: .init(28), mean: [0.1307], std: [0.3081],
                                       channels: 1)
        let rgb = PreprocessingConfig(resizeSize: .init(32), cropSize: .init(28), mean: [0.1307, 0.1307, 0.1307],
                                      std: [0.3081, 0.3081, 0.3081])
        let one = grey.preprocess(image), three = rgb.preprocess(image)
        XCTAssertEqual(one.shape, [1, 28, 28])
        XCTAssertEqual(one.storage, Array(three.storage.prefix(28 * 28)), "grey R = G = B gives L = R")
    }

    func testTimmScaleSizeIsFlooredInputOverCropPct() {
        let cases: [(Double, Int)] = [(0.875, 256), (0.9, 248), (0.95, 235), (1.0, 224)]
        for (cropPct, scale) in cases {
            let data = DataConfiguration(inputSize: [3, 224, 224], cropPct: cropPct)
            XCTAssertEqual(TimmEvalTransform(data, mean: [0.5, 0.5, 0.5]).scaleSize, .init(scale), "crop_pct \(cropPct)")
        }
    }

    func testReferenceProportionsForOtherSizes() {
        let p = PreprocessingConfig.reference(height: 224, width: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        XCTAssertEqual(p, .imagenetViT())
        XCTAssertEqual(PreprocessingConfig.reference(height: 28, width: 384, mean: [0], std: [1], channels: 1).geometry,
                       .reference(resize: .init(height: 32, width: 438)))
    }

    func testDenormalizeInvertsNormalize() {
        let config = PreprocessingConfig.imagenetCNN()
        let t = randomTensor([2, 3, 4, 5], seed: 5)
        assertClose(config.denormalize(config.normalize(t)), t, atol: 1e-6, "batched round trip")
    }

    // MARK: - Heatmaps

    func testSeismicTableEqualsMatplotlib() throws {
        XCTAssertEqual(Colormap.seismic.table, try raw("seismic_lut.rgb"))
    }

    func testHeatmapEqualsMatplotlibRendering() throws {
        let bytes = try raw("heatmap_relevance_3x9x11.f32")
        let values = stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                  | UInt32(bytes[i + 3]) << 24)
        }
        let heatmap = Visualization.heatmap(relevance: Tensor(shape: [3, 9, 11], storage: values))
        assertPixelsEqual(heatmap, width: 11, height: 9, try raw("heatmap_expected_11x9.rgb"), "heatmap")
    }

    func testHeatmapSumsChannelsAndNormalizesMax() {
        // Channel sums -2, 0, 4 -> normalised -0.5, 0, 1 -> table entries 64, 128, 255.
        let relevance = Tensor(shape: [2, 1, 3], storage: [-1, 3, 1, -1, -3, 3])
        let table = Colormap.seismic.table
        let expected = [64, 128, 255].flatMap { Array(table[(3 * $0)..<(3 * $0 + 3)]) }
        XCTAssertEqual(Visualization.heatmap(relevance: relevance).pixels, expected)
        XCTAssertEqual(Visualization.heatmap(relevance: Tensor(shape: [1, 2, 2])).pixels,
                       [UInt8](repeating: 255, count: 12), "zero relevance is a constant map: white")
        XCTAssertEqual(Visualization.heatmap(relevance: Tensor(shape: [1, 1, 2], storage: [0, 1])).pixels,
                       Array(table[384..<387]) + Array(table[765..<768]), "zero in a varying map is the middle entry")
    }

    func testSideBySideScalesAndSeparatesWithWhite() {
        let image = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        let heat = RGBImage(width: 1, height: 2, filledWith: (200, 0, 0))
        let canvas = Visualization.sideBySide(image: image, heatmap: heat, scale: 3, gap: 2)
        XCTAssertEqual([canvas.width, canvas.height], [(2 + 1) * 3 + 2, 6])
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(canvas.pixels[(3 * (y * canvas.width + x))..<(3 * (y * canvas.width + x) + 3)]) }
        XCTAssertEqual(pixel(0, 0), [1, 2, 3])
        XCTAssertEqual(pixel(5, 2), [4, 5, 6])
        XCTAssertEqual(pixel(2, 3), [255, 255, 255], "below the shorter image")
        XCTAssertEqual(pixel(6, 0), [255, 255, 255], "gap")
        XCTAssertEqual(pixel(7, 0), [255, 255, 255], "gap")
        XCTAssertEqual(pixel(8, 5), [200, 0, 0])
        XCTAssertEqual(pixel(10, 0), [200, 0, 0])
    }

    func testOverlayBlendsWithRounding() {
        let image = RGBImage(width: 1, height: 1, pixels: [0, 100, 255])
        let heat = RGBImage(width: 1, height: 1, pixels: [255, 101, 0])
        XCTAssertEqual(Visualization.overlay(image: image, heatmap: heat, alpha: 0), image)
        XCTAssertEqual(Visualization.overlay(image: image, heatmap: heat, alpha: 1), heat)
        XCTAssertEqual(Visualization.overlay(image: image, heatmap: heat, alpha: 0.5).pixels, [128, 101, 128])
    }

    func testRenderShowsDenormalisedInputBesideHeatmap() throws {
        let config = PreprocessingConfig.imagenetCNN(resize: 40, crop: 32)
        let input = config.preprocess(try RGBImage.decode(contentsOf: fixtureURL("rgb_77x53")))
        let relevance = randomTensor([3, 32, 32], seed: 11)
        let canvas = Visualization.render(input: input, relevance: relevance, config: config, scale: 2)
        let expected = Visualization.sideBySide(image: RGBImage(tensor: config.denormalize(input)),
                                                heatmap: Visualization.heatmap(relevance: relevance), scale: 2)
        XCTAssertEqual(canvas, expected)
        XCTAssertEqual([canvas.width, canvas.height], [32 * 2 * 2 + 4, 64])
    }
}

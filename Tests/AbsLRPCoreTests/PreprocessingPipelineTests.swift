import XCTest
@testable import AbsLRPCore
import TestFixtures

/// Both pipelines against their peers: Pillow's resampling byte for byte,
/// timm's eval transform byte for byte (so within 2e-3 after normalising,
/// where one grey level is 0.017), the reference's `preprocess_image` within
/// 2e-3. Fixtures: `Tests/Fixtures/preprocessing/make_preprocessing_fixtures.py`.
final class PreprocessingPipelineTests: XCTestCase {
    static let folder = Fixtures.url("preprocessing")
    static let expected = try! SafetensorsFile(contentsOf: folder.appendingPathComponent("expected.safetensors"))
    static let configs: [String: [String: Any]] = {
        let text = expected.metadata["configs"]!
        return try! JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: [String: Any]]
    }()

    private func image(_ name: String) throws -> RGBImage {
        try RGBImage.decode(contentsOf: Self.folder.appendingPathComponent(name))
    }

    /// The stem's file (`synthetic_WxH.jpg` or `.png`).
    private func imageFile(stem: String) -> String {
        let jpg = "\(stem).jpg"
        return FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent(jpg).path) ? jpg : "\(stem).png"
    }

    /// (H, W, C) bytes of a U8 fixture.
    private func bytes(_ key: String) throws -> (pixels: [UInt8], shape: [Int]) {
        let t = try Self.expected.tensor(key)
        return (t.storage.map { UInt8($0) }, t.shape)
    }

    private func maxByteDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    func testResamplingEqualsPillowForEveryFilter() throws {
        let sources = ["rgb": try image("resample_rgb_37x23.png"), "grey": try image("resample_grey_37x23.png")]
        var cases = 0
        for key in Self.expected.names where key.hasPrefix("resample.") {
            let parts = key.split(separator: ".").map(String.init)
            let size = parts[3].split(separator: "x").map { Int($0)! }
            let filter = try XCTUnwrap(ResamplingFilter(rawValue: parts[2]))
            let source = ByteImage(sources[parts[1]]!, channels: parts[1] == "grey" ? 1 : 3)
            let out = source.resized(width: size[0], height: size[1], filter: filter)
            let (want, shape) = try bytes(key)
            XCTAssertEqual([out.height, out.width, out.channels], shape, key)
            XCTAssertEqual(maxByteDifference(out.pixels, want), 0, key)
            cases += 1
        }
        XCTAssertEqual(cases, 2 * 6 * 6)
    }

    /// The pass structure (row window, skipped passes, coefficient rows) against
    /// a direct evaluation of Pillow's formulas, on random images.
    func testResamplingEqualsNaiveLoops() {
        var rng = SystemRandomNumberGenerator()
        for filter in ResamplingFilter.allCases where filter != .nearest {
            for (w, h, ow, oh, c) in [(19, 13, 7, 29, 3), (8, 31, 8, 5, 1), (40, 9, 17, 9, 3), (5, 5, 23, 2, 1),
                                      (30, 40, 25, 20, 3), (12, 50, 30, 7, 1)] {
                let pixels = (0..<(w * h * c)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let image = ByteImage(width: w, height: h, channels: c, pixels: pixels)
                let fast = image.resized(width: ow, height: oh, filter: filter)
                let naive = Self.naiveResize(image, width: ow, height: oh, filter: filter)
                XCTAssertEqual(fast.pixels, naive.pixels, "\(filter) \(w)x\(h) -> \(ow)x\(oh)")
            }
        }
    }

    /// Pillow's algorithm written out directly: per axis, per output index,
    /// the normalised kernel weights in fixed point; a full pass over every
    /// row or column, in Pillow's order (columns first when the height
    /// shrinks by more than twice as many pixels as the width).
    static func naiveResize(_ image: ByteImage, width ow: Int, height oh: Int, filter: ResamplingFilter) -> ByteImage {
        func weights(inSize: Int, outSize: Int, _ i: Int) -> (first: Int, w: [Int]) {
            let scale = Double(inSize) / Double(outSize), fs = max(scale, 1), support = filter.support * fs
            let center = (Double(i) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0), last = min(Int(center + support + 0.5), inSize)
            let raw = (first..<last).map { filter.weight((Double($0) - center + 0.5) / fs) }
            let total = raw.reduce(0, +)
            return (first, raw.map { v in
                let n = total == 0 ? v : v / total
                return Int(n < 0 ? n * 4194304 - 0.5 : n * 4194304 + 0.5)
            })
        }
        func clip(_ s: Int) -> UInt8 { UInt8(max(0, min(255, s >> 22))) }
        let c = image.channels
        func rows(_ im: ByteImage) -> ByteImage {
            guard ow != im.width else { return im }
            var out = [UInt8](repeating: 0, count: ow * im.height * c)
            for y in 0..<im.height {
                for x in 0..<ow {
                    let (first, w) = weights(inSize: im.width, outSize: ow, x)
                    for b in 0..<c {
                        var s = 1 << 21
                        for (j, wj) in w.enumerated() { s += Int(im.pixels[(y * im.width + first + j) * c + b]) * wj }
                        out[(y * ow + x) * c + b] = clip(s)
                    }
                }
            }
            return ByteImage(width: ow, height: im.height, channels: c, pixels: out)
        }
        func columns(_ im: ByteImage) -> ByteImage {
            guard oh != im.height else { return im }
            var out = [UInt8](repeating: 0, count: im.width * oh * c)
            for y in 0..<oh {
                let (first, w) = weights(inSize: im.height, outSize: oh, y)
                for x in 0..<im.width {
                    for b in 0..<c {
                        var s = 1 << 21
                        for (j, wj) in w.enumerated() { s += Int(im.pixels[((first + j) * im.width + x) * c + b]) * wj }
                        out[(y * im.width + x) * c + b] = clip(s)
                    }
                }
            }
            return ByteImage(width: im.width, height: oh, channels: c, pixels: out)
        }
        let shrink = image.height - oh
        return shrink > 0 && shrink > 2 * (image.width - ow) ? rows(columns(image)) : columns(rows(image))
    }

    func testTimmEvalTransformEqualsTimmByteForByte() throws {
        var cases = 0
        for key in Self.expected.names where key.hasPrefix("timm.") {
            let parts = key.split(separator: ".").map(String.init)
            let stem = parts.last!, config = parts.dropFirst().dropLast().joined(separator: ".")
            let data = try Self.dataConfiguration(config)
            let channels = data.inputSize[0]
            let transform = TimmEvalTransform(data, mean: try data.statistics().mean)
            let out = transform.apply(ByteImage(try image(imageFile(stem: stem)), channels: channels))
            let (want, shape) = try bytes(key)
            XCTAssertEqual([out.height, out.width, out.channels], shape, key)
            XCTAssertEqual(maxByteDifference(out.pixels, want), 0, key)
            cases += 1
        }
        XCTAssertEqual(cases, 3 * 5 + 9 * 2)
    }

    /// The fixture's pretrained_cfg read as a configuration file's top level
    /// (through ``PretrainedInputFields``), on a small ResNet of its channels.
    static func dataConfiguration(_ name: String) throws -> DataConfiguration {
        var json = try XCTUnwrap(configs[name], name)
        let channels = (json["input_size"] as! [Int])[0]
        json["architecture"] = "resnet"
        json["model_args"] = ["block": "basic", "layers": [1, 1, 1, 1], "channels": [8, 8, 8, 8], "in_chans": channels]
        return try ModelConfiguration(json: json, name: name).data
    }

    func testTimmPipelineOfAPresetEqualsTimmsTensor() throws {
        let config = try ModelConfiguration(timmName: "vit_base_patch16_224")
        let input = try config.preprocessing(.timm).preprocess(try image("synthetic_240x176.jpg"))
        assertClose(input, try Self.expected.tensor("timm_tensor.vit_base_patch16_224.synthetic_240x176"),
                    atol: 2e-3, "timm vit_base_patch16_224")
    }

    func testReferencePipelineOfViTPresetsEqualsPreprocessImage() throws {
        for preset in ["vit_base_patch16_224", "vit_tiny_patch16_224", "vit_small_patch16_224"] {
            let pipeline = try ModelConfiguration(timmName: preset).preprocessing(.reference)
            for stem in ["synthetic_240x176", "synthetic_300x400"] {
                let input = pipeline.preprocess(try image(imageFile(stem: stem)))
                assertClose(input, try Self.expected.tensor("reference_vit.\(stem)"), atol: 2e-3, "\(preset) \(stem)")
            }
        }
    }

    func testReferenceProportionsForOtherInputSizes() throws {
        for size in [28, 96] {
            let pipeline = PreprocessingConfig.reference(height: size, width: size, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
            let input = pipeline.preprocess(try image("synthetic_201x333.png"))
            assertClose(input, try Self.expected.tensor("reference_size.synthetic_201x333.\(size)"), atol: 2e-3, "size \(size)")
        }
    }
}

import XCTest
@testable import AbsLRPCore
import TestFixtures

/// The `pretrained_cfg` input fields: every field read or refused by name,
/// wrong types quoted, statistics defaults for any channel count, and
/// tensors that never need statistics.
final class DataConfigurationTests: XCTestCase {
    /// A small ResNet in the fixtures' form with `fields` at the top level or under `pretrained_cfg`.
    private func configuration(channels: Int = 3, _ fields: [String: Any], nested: Bool = false) throws -> ModelConfiguration {
        var json: [String: Any] = [
            "architecture": "resnet",
            "model_args": ["block": "basic", "layers": [1, 1, 1, 1], "channels": [8, 8, 8, 8], "in_chans": channels,
                           "num_classes": 3],
        ]
        // The top level wins over pretrained_cfg, so the default size goes where the fields do not set it.
        var fields = fields
        if fields["input_size"] == nil { fields["input_size"] = [channels, 32, 32] }
        if nested { json["pretrained_cfg"] = fields } else { json.merge(fields) { $1 } }
        return try ModelConfiguration(json: json, name: "small")
    }

    private func assertRefused(_ fields: [String: Any], nested: Bool = false, mentions: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try configuration(fields, nested: nested), file: file, line: line) { error in
            for text in mentions {
                XCTAssertTrue("\(error)".contains(text), "'\(error)' should mention \(text)", file: file, line: line)
            }
        }
    }

    func testEveryInputFieldIsRead() throws {
        let c = try configuration([
            "input_size": [3, 40, 48], "interpolation": "lanczos", "crop_pct": 0.8, "crop_mode": "squash",
            "mean": [0.1, 0.2, 0.3], "std": [0.4], "test_input_size": [3, 64, 64], "test_crop_pct": 1.0,
            "min_input_size": [3, 32, 32], "fixed_input_size": true, "label_offset": 0,
        ], nested: true)
        XCTAssertEqual(c.data.inputSize, [3, 40, 48])
        XCTAssertEqual(c.data.interpolation, .lanczos)
        XCTAssertEqual(c.data.cropPct, 0.8)
        XCTAssertEqual(c.data.cropMode, .squash)
        XCTAssertEqual(c.data.testInputSize, [3, 64, 64])
        XCTAssertEqual(c.data.testCropPct, 1.0)
        XCTAssertEqual(c.data.minInputSize, [3, 32, 32])
        XCTAssertEqual(c.data.fixedInputSize, true)
        let statistics = try c.data.statistics()
        XCTAssertEqual(statistics.mean, [0.1, 0.2, 0.3])
        XCTAssertEqual(statistics.std, [0.4, 0.4, 0.4], "one value is repeated for every channel, as timm does")
        guard case .timm(let t) = try c.preprocessing(.timm).geometry else { return XCTFail() }
        XCTAssertEqual(t.scaleSize, .init(height: 50, width: 60))
        XCTAssertEqual(t.interpolation, .lanczos)
    }

    func testTimmDefaultsWhenFieldsAreAbsent() throws {
        let c = try configuration([:])
        XCTAssertEqual(c.data.interpolation, .bicubic, "resolve_data_config's default")
        XCTAssertEqual(c.data.cropPct, 0.875)
        XCTAssertEqual(c.data.cropMode, .center)
    }

    func testWrongTypesAreQuoted() {
        assertRefused(["crop_pct": "0.9"], nested: true, mentions: ["pretrained_cfg.crop_pct", "\"0.9\"", "a number in (0, 1]"])
        assertRefused(["crop_pct": 1.5], mentions: ["crop_pct", "1.5"])
        assertRefused(["interpolation": 2], mentions: ["interpolation", "2", "bicubic"])
        assertRefused(["interpolation": "cubic"], mentions: ["\"cubic\"", "bilinear"])
        assertRefused(["crop_mode": "centre"], mentions: ["crop_mode", "\"centre\"", "center, squash or border"])
        assertRefused(["mean": "0.5"], mentions: ["mean", "\"0.5\"", "list of finite numbers"])
        assertRefused(["std": [0.5, "x", 0.5]], mentions: ["std", "\"x\""])
        assertRefused(["input_size": [3, 32]], mentions: ["input_size", "[3, 32]"])
        assertRefused(["test_input_size": [3, 0, 64]], nested: true, mentions: ["pretrained_cfg.test_input_size"])
        assertRefused(["test_crop_pct": true], nested: true, mentions: ["test_crop_pct", "true"])
        assertRefused(["min_input_size": [3, 64, 64]], mentions: ["min_input_size", "[3, 32, 32]"])
        assertRefused(["fixed_input_size": "yes"], mentions: ["fixed_input_size", "\"yes\"", "true or false"])
        assertRefused(["label_offset": 0.5], mentions: ["label_offset", "integer"])
        assertRefused(["label_names": [1, 2, 3]], mentions: ["label_names", "class names"])
    }

    func testUnsupportedValuesAreRefusedByName() {
        assertRefused(["interpolation": "random"], nested: true, mentions: ["pretrained_cfg.interpolation", "random"])
        assertRefused(["label_offset": 1], nested: true, mentions: ["label_offset", "background class"])
    }

    func testStatisticsDefaultForAnyChannelCount() throws {
        XCTAssertEqual(DataConfiguration.defaultStatistics(channels: 3).mean, imagenetDefaultMean)
        let grey = try configuration(channels: 1, [:])
        XCTAssertNil(grey.data.mean, "no ImageNet RGB statistics forced on a grey model")
        let statistics = try grey.data.statistics()
        XCTAssertEqual(statistics.mean, [0.449])
        XCTAssertEqual(statistics.std, [0.226])
        XCTAssertEqual(DataConfiguration.defaultStatistics(channels: 4).mean, [0.449, 0.449, 0.449, 0.449])
        let p = try grey.preprocessing(.timm)
        XCTAssertEqual(p.channels, 1)
        XCTAssertEqual(p.mean, [0.449])
    }

    func testMismatchedStatisticsAreRefusedOnlyForImages() throws {
        let grey = try configuration(channels: 1, ["mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]])
        XCTAssertThrowsError(try grey.preprocessing(.reference)) { error in
            XCTAssertTrue("\(error)".contains("3 values"), "\(error)")
            XCTAssertTrue("\(error)".contains("1-channel"), "\(error)")
        }
        // A preprocessed tensor needs no statistics: explain runs.
        let classifier = Classifier(configuration: grey)
        let folder = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("batch.safetensors")
        try SafetensorsWriter.write(tensors: ["input": randomTensor([2, 1, 32, 32], seed: 1)], to: file)
        let job = ExplainJob(source: .tensorFile(file), method: try RelevancyMethods.make("gradient", classifier: classifier),
                             outputDirectory: folder.appendingPathComponent("out"))
        XCTAssertEqual(try job.run().count, 2)
    }

    func testNonPositiveStdIsRefused() throws {
        let c = try configuration(["std": [0.2, 0, 0.2]])
        XCTAssertThrowsError(try c.preprocessing()) { error in
            XCTAssertTrue("\(error)".contains("positive"), "\(error)")
        }
    }

    func testModelsWithoutImageChannelsNeedTensors() throws {
        let c = try configuration(channels: 2, [:])
        XCTAssertThrowsError(try c.preprocessing()) { error in
            XCTAssertEqual(error as? DataConfigurationError, .notAnImageModel(channels: 2))
        }
    }
}

import XCTest
import AbsLRPCore
import TestFixtures

final class SafetensorsTests: TemporaryFolderTestCase {
    // MARK: - Helpers

    /// Little-endian bytes of `values`.
    private func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    /// Writes a hand-built file: the 8-byte header length (`headerLength`, or
    /// the header's real length), the header, then `data`.
    private func handMade(header: String, data: [UInt8] = [], headerLength: UInt64? = nil,
                          name: String = "hand.safetensors") -> URL {
        let json = Array(header.utf8)
        let url = parent.appendingPathComponent(name)
        let bytes = littleEndian([headerLength ?? UInt64(json.count)]) + json + data
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data(bytes)))
        return url
    }

    /// Asserts that `body` throws a `SafetensorsError` accepted by `matches`
    /// whose description contains every string of `mentioning`.
    private func assertFails<T>(_ body: @autoclosure () throws -> T, mentioning: [String],
                                file: StaticString = #filePath, line: UInt = #line,
                                _ matches: (SafetensorsError) -> Bool) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? SafetensorsError else {
                return XCTFail("not a SafetensorsError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(matches(error), "unexpected error: \(error)", file: file, line: line)
            for fragment in mentioning {
                XCTAssertTrue(error.description.contains(fragment), "'\(fragment)' not in: \(error)", file: file, line: line)
            }
        }
    }

    private func fixtureFiles() throws -> [URL] {
        let all = FileManager.default.enumerator(at: Fixtures.root, includingPropertiesForKeys: nil)!
        return all.compactMap { $0 as? URL }.filter { $0.pathExtension == "safetensors" }
            .sorted { $0.path < $1.path }
    }

    // MARK: - Fixtures

    func testReadsEveryFixture() throws {
        let files = try fixtureFiles()
        XCTAssertGreaterThanOrEqual(files.count, 19)
        var dtypesSeen = Set<SafetensorsDType>()
        for url in files {
            let file = try SafetensorsFile(contentsOf: url)
            let label = url.path.replacingOccurrences(of: Fixtures.root.path + "/", with: "")
            XCTAssertFalse(file.names.isEmpty, label)
            XCTAssertEqual(file.names, file.names.sorted(), label)
            // The golden files of the reference all carry __metadata__ (other fixtures may not).
            if ["reference", "images"].contains(url.deletingLastPathComponent().lastPathComponent) {
                XCTAssertFalse(file.metadata.isEmpty, "\(label) has __metadata__")
            }
            for name in file.names {
                XCTAssertTrue(file.contains(name))
                let (dtype, shape) = try file.info(name)
                dtypesSeen.insert(dtype)
                let count = shape.reduce(1, *)
                let tensor = try file.tensor(name)
                XCTAssertEqual(tensor.shape, shape, "\(label) \(name)")
                switch dtype {
                case .i64, .i32:
                    XCTAssertEqual(try file.integers(name).map(Float.init), tensor.storage, "\(label) \(name)")
                case .u8:
                    let bytes = try file.bytes(name)
                    XCTAssertEqual(bytes.count, count, "\(label) \(name)")
                    XCTAssertEqual(bytes.map(Float.init), tensor.storage, "\(label) \(name)")
                case .f64, .f32, .f16, .bf16:
                    XCTAssertEqual(tensor.count, count, "\(label) \(name)")
                }
            }
        }
        XCTAssertTrue(dtypesSeen.isSuperset(of: [.f32, .i64, .u8]), "\(dtypesSeen)")
    }

    func testKnownValuesInWeights() throws {
        let bn = try SafetensorsFile(contentsOf: Fixtures.url("reference/vgg_bn_mini.weights.safetensors"))
        XCTAssertEqual(bn.names.count, 41)
        XCTAssertEqual(bn.metadata["timm"], "1.0.11")
        XCTAssertEqual(bn.metadata["seed"], "2")
        XCTAssertTrue(bn.metadata["config"]?.contains("\"norm_layer\": \"batchnorm2d\"") ?? false)
        let weight = try bn.tensor("features.0.weight")
        XCTAssertEqual(weight.shape, [8, 3, 3, 3])
        XCTAssertEqual(Array(weight.storage.prefix(3)), [-0.13806164264678955, -0.1477411538362503, -0.10268019884824753])
        XCTAssertEqual(try bn.tensor("features.1.running_var").storage.prefix(2), [1.7981305122375488, 0.958795964717865])
        let tracked = try bn.info("features.1.num_batches_tracked")
        XCTAssertEqual(tracked.dtype, .i64)
        XCTAssertEqual(tracked.shape, [])
        XCTAssertEqual(try bn.integers("features.1.num_batches_tracked"), [0])

        let vit = try SafetensorsFile(path: Fixtures.url("reference/vit_mini.weights.safetensors").path)
        let qkv = try vit.tensor("blocks.0.attn.qkv.weight")
        XCTAssertEqual(qkv.shape, [144, 48])
        XCTAssertEqual(qkv[0, 1], 0.03931219503283501)
        XCTAssertEqual(qkv.storage.last, 0.010621526278555393)
        XCTAssertEqual(try vit.tensor("cls_token")[0, 0, 47], 0.029874807223677635)
    }

    func testKnownValuesInExpectedFiles() throws {
        let vit = try SafetensorsFile(contentsOf: Fixtures.url("reference/vit_mini.expected.safetensors"))
        XCTAssertEqual(try vit.info("target").dtype, .i64)
        XCTAssertEqual(try vit.integers("target"), [1, 1])
        XCTAssertEqual(try vit.info("input").shape, [2, 3, 32, 32])
        XCTAssertEqual(try vit.tensor("logits")[0, 1], 0.34146949648857117)
        XCTAssertEqual(try vit.tensor("logits")[1, 9], 0.09480749815702438)

        let gae = try SafetensorsFile(contentsOf: Fixtures.url("reference/gae_resnet_mini_b4.expected.safetensors"))
        XCTAssertEqual(try gae.integers("batch_order"), [3, 5, 6, 7, 4, 0, 1, 2])
        XCTAssertEqual(try gae.integers("label"), [6, 8, 8, 0, 7, 8, 3, 8])
        XCTAssertEqual(try gae.tensor("gae").storage, [0.15534530580043793, 0.45268183946609497])
        XCTAssertEqual(gae.metadata["num_masking_steps"], "10")

        let images = try SafetensorsFile(contentsOf: Fixtures.url("images/preprocess.expected.safetensors"))
        XCTAssertTrue(images.metadata["note"]?.hasPrefix("decoded: uint8 RGB") ?? false)
        XCTAssertEqual(try images.info("rgba_200x150.decoded").dtype, .u8)
        XCTAssertEqual(try images.info("rgba_200x150.decoded").shape, [3, 150, 200])
        let pixels = try images.bytes("rgba_200x150.decoded")
        XCTAssertEqual(Array(pixels.prefix(4)), [24, 33, 30, 36])
        XCTAssertEqual(pixels.last, 45)
        XCTAssertEqual(try images.integers("gray_128x96.decoded").prefix(3), [176, 178, 179])
        XCTAssertEqual(try images.tensor("scene_640x427.cnn")[0, 0, 3], 1.1545854806900024)
    }

    // MARK: - Decoding of dtypes the fixtures do not use

    func testFloat16Decoding() throws {
        // 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), 2^-14 (smallest normal), +inf, -0, 1/3 rounded
        let bits: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0x8000, 0x3555]
        let url = handMade(header: #"{"h":{"dtype":"F16","shape":[3,3],"data_offsets":[0,18]}}"#, data: littleEndian(bits))
        let tensor = try SafetensorsFile(contentsOf: url).tensor("h")
        XCTAssertEqual(tensor.shape, [3, 3])
        XCTAssertEqual(Array(tensor.storage.prefix(7)),
                       [1, -2, 0.5, 65504, 0x1p-24, 0x1p-14, .infinity])
        XCTAssertEqual(tensor.storage[7], 0)
        XCTAssertEqual(tensor.storage[7].sign, .minus)
        XCTAssertEqual(tensor.storage[8], 0.333251953125)
        XCTAssertTrue(try SafetensorsFile(contentsOf: handMade(
            header: #"{"n":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}"#, data: littleEndian([UInt16(0x7E00)]),
            name: "nan.safetensors")).tensor("n").storage[0].isNaN)
    }

    func testBFloat16Decoding() throws {
        // 1, -2, 3.140625, 0.15625, -inf, 2^-133 (smallest subnormal), largest finite
        let bits: [UInt16] = [0x3F80, 0xC000, 0x4049, 0x3E20, 0xFF80, 0x0001, 0x7F7F]
        let url = handMade(header: #"{"b":{"dtype":"BF16","shape":[7],"data_offsets":[0,14]}}"#, data: littleEndian(bits))
        let tensor = try SafetensorsFile(contentsOf: url).tensor("b")
        XCTAssertEqual(tensor.storage, [1, -2, 3.140625, 0.15625, -.infinity, 0x1p-133, 0x1.FEp127])
    }

    func testOtherDTypesAsFloatAndAsIntegers() throws {
        let f64 = littleEndian([(0.1 as Double).bitPattern, (-1e300 as Double).bitPattern])
        let i32 = littleEndian([Int32(-7), Int32.max])
        let i64 = littleEndian([Int64(-3), Int64(1) << 40])
        let u8: [UInt8] = [0, 255, 7]
        let header = """
            {"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},\
            "i":{"dtype":"I32","shape":[2,1],"data_offsets":[16,24]},\
            "l":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},\
            "u":{"dtype":"U8","shape":[3],"data_offsets":[40,43]},\
            "empty":{"dtype":"F32","shape":[0,4],"data_offsets":[43,43]},\
            "late":{"dtype":"U8","shape":[],"data_offsets":[43,44]}}
            """
        let file = try SafetensorsFile(contentsOf: handMade(header: header, data: f64 + i32 + i64 + u8 + [42]))
        XCTAssertEqual(file.names, ["d", "empty", "i", "l", "late", "u"])
        XCTAssertTrue(file.metadata.isEmpty)
        XCTAssertEqual(try file.tensor("d").storage, [0.1, -.infinity])
        XCTAssertEqual(try file.tensor("i").storage, [-7, 2147483648])
        XCTAssertEqual(try file.tensor("i").shape, [2, 1])
        XCTAssertEqual(try file.tensor("l").storage, [-3, 0x1p40])
        XCTAssertEqual(try file.tensor("u").storage, [0, 255, 7])
        XCTAssertEqual(try file.integers("i"), [-7, Int(Int32.max)])
        XCTAssertEqual(try file.integers("l"), [-3, 1 << 40])
        XCTAssertEqual(try file.integers("u"), [0, 255, 7])
        XCTAssertEqual(try file.bytes("u"), u8)
        XCTAssertEqual(try file.tensor("empty").shape, [0, 4])
        XCTAssertEqual(try file.tensor("empty").count, 0)
        XCTAssertEqual(try file.integers("late"), [42])
    }

    // MARK: - Writing

    func testRoundTripOfFloatsIntegersAndMetadata() throws {
        let url = parent.appendingPathComponent("round.safetensors")
        let weight = Tensor(shape: [2, 3, 2]) { Float($0) * 0.25 - 1 }
        let special = Tensor(shape: [4], storage: [.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude])
        let scalar = Tensor(shape: [], storage: [3.5])
        let metadata = ["format": "pt", "config": "{\"quoted\": \"a\\\\b\"}\nline two\u{1}", "unicode": "µ → ∞"]
        try SafetensorsWriter.write(
            tensors: ["layer.weight": weight, "special": special, "scalar": scalar],
            integers: ["target": (shape: [3], values: [7, -1, 1 << 40]), "bn.num_batches_tracked": (shape: [], values: [0])],
            metadata: metadata, to: url)

        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["bn.num_batches_tracked", "layer.weight", "scalar", "special", "target"])
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(try file.tensor("layer.weight"), weight)
        XCTAssertEqual(try file.tensor("special").storage.map(\.bitPattern), special.storage.map(\.bitPattern))
        XCTAssertEqual(try file.tensor("scalar"), scalar)
        XCTAssertEqual(try file.info("target").dtype, .i64)
        XCTAssertEqual(try file.info("layer.weight").dtype, .f32)
        XCTAssertEqual(try file.integers("target"), [7, -1, 1 << 40])
        XCTAssertEqual(try file.info("bn.num_batches_tracked").shape, [])
        XCTAssertEqual(try file.integers("bn.num_batches_tracked"), [0])

        // The reference layout: header padded with spaces to a multiple of 8, keys sorted.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(headerLength % 8, 0)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{\"config\":"), header)
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(trimmed.hasSuffix("}"))
        XCTAssertEqual(header.count - trimmed.count, (8 - trimmed.utf8.count % 8) % 8)
        let keys = ["bn.num_batches_tracked", "layer.weight", "scalar", "special", "target"]
        let positions = keys.map { header.range(of: "\"\($0)\":")!.lowerBound }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertEqual(bytes.count, 8 + headerLength + 4 * 8 + (12 + 4 + 1) * 4)

        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path), ["round.safetensors"])
    }

    func testWritingReplacesAnExistingFile() throws {
        let url = parent.appendingPathComponent("model.safetensors")
        try SafetensorsWriter.write(tensors: ["a": Tensor(shape: [100], repeating: 1)], to: url)
        try SafetensorsWriter.write(tensors: ["b": Tensor(shape: [1], repeating: 2)], to: url)
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["b"])
        XCTAssertEqual(try file.tensor("b").storage, [2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path), ["model.safetensors"])
    }

    func testWriterRejectsInconsistentInput() {
        let url = parent.appendingPathComponent("bad.safetensors")
        let one = Tensor(shape: [1], repeating: 0)
        assertFails(try SafetensorsWriter.write(tensors: [:], integers: ["t": (shape: [2, 2], values: [1, 2, 3])], to: url),
                    mentioning: [url.path, "'t'", "3 values", "[2, 2]"]) {
            if case .invalidInput = $0 { return true } else { return false }
        }
        assertFails(try SafetensorsWriter.write(tensors: ["x": one], integers: ["x": (shape: [1], values: [1])], to: url),
                    mentioning: ["'x'", "both"]) {
            if case .invalidInput = $0 { return true } else { return false }
        }
        assertFails(try SafetensorsWriter.write(tensors: ["__metadata__": one], to: url), mentioning: ["reserved"]) {
            if case .invalidInput = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    /// `expression` throws ``OutputError/cannotWrite(path:reason:)`` whose text holds every string of `parts`.
    private func assertWriteFails(_ expression: @autoclosure () throws -> Void, mentioning parts: [String],
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case .cannotWrite? = error as? OutputError else {
                return XCTFail("expected OutputError.cannotWrite, got \(error)", file: file, line: line)
            }
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line) }
        }
    }

    func testUnwritableOutputPathLeavesNothingBehind() throws {
        // The parent "directory" is a regular file: nothing can be created there.
        let blocker = parent.appendingPathComponent("not-a-directory")
        XCTAssertTrue(FileManager.default.createFile(atPath: blocker.path, contents: Data([1])))
        let inside = blocker.appendingPathComponent("out.safetensors")
        assertWriteFails(try SafetensorsWriter.write(tensors: ["a": Tensor(shape: [2], repeating: 1)], to: inside),
                         mentioning: [inside.path, "cannot create a file in \(blocker.path)", "Not a directory"])
        assertWriteFails(try SafetensorsWriter.write(
            tensors: [:], to: parent.appendingPathComponent("missing/out.safetensors")),
                         mentioning: ["No such file or directory"])

        // The destination is a directory: all data is written, the final rename
        // fails, and the temporary file must be removed.
        let occupied = parent.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: false)
        assertWriteFails(try SafetensorsWriter.write(tensors: ["a": Tensor(shape: [1000], repeating: 1)], to: occupied),
                         mentioning: [occupied.path, "cannot move the finished file into place"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path).sorted(),
                       ["not-a-directory", "occupied"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied.path), [])
    }

    // MARK: - Errors on opening

    func testMissingFile() {
        let url = parent.appendingPathComponent("absent.safetensors")
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "not found"]) {
            $0 == .fileNotFound(path: url.path)
        }
        assertFails(try SafetensorsFile(contentsOf: parent), mentioning: ["directory"]) {
            if case .unreadable = $0 { return true } else { return false }
        }
    }

    func testFileShorterThanTheLengthPrefix() {
        let url = parent.appendingPathComponent("short.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data([1, 0, 0, 0, 0])))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "5 bytes", "truncated"]) {
            $0 == .truncated(path: url.path, size: 5)
        }
    }

    func testFileCutInTheDataSection() throws {
        let whole = try Data(contentsOf: Fixtures.url("reference/vgg_mini.weights.safetensors"))
        let url = parent.appendingPathComponent("cut.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: whole.prefix(whole.count - 1000)))
        // The last tensor in the data section is the one cut.
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "truncated", "data section holds only"]) {
            if case .offsetsOutOfRange(_, _, _, let end, let dataSize) = $0 { return end == dataSize + 1000 }
            return false
        }
    }

    func testHeaderLengthPastTheEndOfTheFile() {
        let url = handMade(header: "{}", headerLength: 1000)
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "1000 bytes", "only 2 bytes"]) {
            $0 == .headerPastEnd(path: url.path, headerLength: 1000, fileSize: 10)
        }
    }

    func testAbsurdHeaderLengthIsRejectedAsCorrupt() {
        let url = handMade(header: "{}", headerLength: 1 << 40)
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "corrupt"]) {
            if case .headerTooLarge(_, 1 << 40, SafetensorsFile.maximumHeaderLength) = $0 { return true }
            return false
        }
    }

    func testInvalidHeaderJSON() {
        let cases: [(header: String, mentioning: String)] = [
            (#"{"a": {"dtype": "F32""#, "not valid JSON"),
            (#"[1, 2]"#, "starting with '{'"),
            (#"{"a": 3}"#, "tensor 'a': entry is not an object"),
            (#"{"a": {"shape": [1], "data_offsets": [0, 4]}}"#, "\"dtype\" is missing"),
            (#"{"a": {"dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]}}"#, "\"shape\""),
            (#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, "\"shape\""),
            (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, "\"data_offsets\""),
            (#"{"__metadata__": {"n": 3}}"#, "'n' is not a string"),
            (#"{"__metadata__": [1]}"#, "\"__metadata__\" is not an object"),
        ]
        for (index, item) in cases.enumerated() {
            let url = handMade(header: item.header, data: [0, 0, 0, 0], name: "bad\(index).safetensors")
            assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, item.mentioning]) {
                if case .invalidHeader = $0 { return true } else { return false }
            }
        }
    }

    func testDataOffsetsOutOfRange() {
        let url = handMade(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "'w'", "[0, 16]", "only 8 bytes"]) {
            $0 == .offsetsOutOfRange(path: url.path, tensor: "w", begin: 0, end: 16, dataSize: 8)
        }
    }

    func testReversedDataOffsets() {
        let url = handMade(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "'w'", "[8, 4]"]) {
            $0 == .reversedOffsets(path: url.path, tensor: "w", begin: 8, end: 4)
        }
    }

    func testOverlappingDataOffsets() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let url = handMade(header: header, data: [UInt8](repeating: 0, count: 12))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "'a'", "'b'", "[4, 12]"]) {
            $0 == .overlappingTensors(path: url.path, tensor: "a", range: 0..<8, other: "b", otherRange: 4..<12)
        }
    }

    func testUnknownDType() {
        let url = handMade(header: #"{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#, data: [1, 2, 3, 4])
        assertFails(try SafetensorsFile(contentsOf: url),
                    mentioning: [url.path, "'q'", "'F8_E4M3'", "F64, F32, F16, BF16, I64, I32, U8"]) {
            $0 == .unsupportedDType(path: url.path, tensor: "q", dtype: "F8_E4M3")
        }
    }

    /// What the format's own library refuses and Foundation's JSON would let
    /// through: booleans and floats as integers, unknown fields, a header
    /// that is not UTF-8 or does not start with `{`.
    func testShapesAndOffsetsMustBeJSONIntegersAndFieldsKnown() {
        let cases: [(header: String, mentioning: String)] = [
            (#"{"a": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}"#, "\"shape\""),
            (#"{"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}"#, "\"shape\""),
            (#"{"a": {"dtype": "F32", "shape": [1e0], "data_offsets": [0, 4]}}"#, "\"shape\""),
            (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}}"#, "\"data_offsets\""),
            (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [false, 4]}}"#, "\"data_offsets\""),
            (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "strides": [1]}}"#, "unknown field \"strides\""),
            (#" {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, "starting with '{'"),
        ]
        for (index, item) in cases.enumerated() {
            let url = handMade(header: item.header, data: [0, 0, 0, 0], name: "strict\(index).safetensors")
            assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, item.mentioning]) {
                if case .invalidHeader = $0 { return true } else { return false }
            }
        }
        // UTF-16 JSON (with a byte-order mark), which JSONSerialization would decode.
        let utf16 = Array(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#.data(using: .utf16)!)
        let url = parent.appendingPathComponent("utf16.safetensors")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path,
                                                     contents: Data(littleEndian([UInt64(utf16.count)]) + utf16 + [7])))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: ["UTF-8"]) {
            if case .invalidHeader = $0 { return true } else { return false }
        }
    }

    /// The data section is covered exactly: a gap, bytes after the last
    /// tensor, or data before the first are refused.
    func testDataSectionMustBeCoveredExactly() {
        let two = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#
        let gap = handMade(header: two, data: [1, 2, 0, 3, 4], name: "gap.safetensors")
        assertFails(try SafetensorsFile(contentsOf: gap), mentioning: [gap.path, "[2, 3)", "between tensors"]) {
            $0 == .uncoveredData(path: gap.path, range: 2..<3, dataSize: 5)
        }
        let one = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        let trailing = handMade(header: one, data: [1, 2, 9], name: "trailing.safetensors")
        assertFails(try SafetensorsFile(contentsOf: trailing), mentioning: ["[2, 3)", "after the last tensor"]) {
            $0 == .uncoveredData(path: trailing.path, range: 2..<3, dataSize: 3)
        }
        let late = handMade(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#, data: [0, 1, 2],
                            name: "late.safetensors")
        assertFails(try SafetensorsFile(contentsOf: late), mentioning: ["[0, 1)"]) {
            $0 == .uncoveredData(path: late.path, range: 0..<1, dataSize: 3)
        }
        let nothing = handMade(header: "{}", data: [5], name: "nothing.safetensors")
        assertFails(try SafetensorsFile(contentsOf: nothing), mentioning: ["[0, 1)"]) {
            $0 == .uncoveredData(path: nothing.path, range: 0..<1, dataSize: 1)
        }
    }

    func testByteCountNotMatchingShape() {
        let url = handMade(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertFails(try SafetensorsFile(contentsOf: url), mentioning: [url.path, "'w'", "needs 12 bytes", "span 8"]) {
            $0 == .byteCountMismatch(path: url.path, tensor: "w", dtype: .f32, shape: [3], expected: 12, actual: 8)
        }
    }

    // MARK: - Errors on lookup

    func testTensorNotFound() throws {
        let url = Fixtures.url("reference/vgg_mini.weights.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertFalse(file.contains("features.0.weigth"))
        assertFails(try file.tensor("features.0.weigth"),
                    mentioning: [url.path, "'features.0.weigth'", "16 tensors", "'features.0.weight'"]) {
            if case let .tensorNotFound(_, name, closest, count) = $0 {
                return name == "features.0.weigth" && closest.first == "features.0.weight" && closest.count == 5 && count == 16
            }
            return false
        }
        assertFails(try file.info("nope"), mentioning: ["'nope'"]) {
            if case .tensorNotFound = $0 { return true } else { return false }
        }
    }

    func testIntegerAccessorsRejectFloatTensors() throws {
        let url = Fixtures.url("reference/vit_mini.expected.safetensors")
        let file = try SafetensorsFile(contentsOf: url)
        assertFails(try file.integers("logits"), mentioning: [url.path, "'logits'", "F32", "I64, I32, U8", "tensor(_:)"]) {
            $0 == .wrongDType(path: url.path, tensor: "logits", dtype: .f32, accepted: [.i64, .i32, .u8])
        }
        assertFails(try file.bytes("target"), mentioning: ["'target'", "I64"]) {
            $0 == .wrongDType(path: url.path, tensor: "target", dtype: .i64, accepted: [.u8])
        }
    }
}

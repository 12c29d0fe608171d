import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The safetensors format (https://github.com/huggingface/safetensors):
//
//     [8 bytes]  N, the header length, unsigned little-endian
//     [N bytes]  UTF-8 JSON object: "name" -> {"dtype", "shape", "data_offsets": [begin, end]},
//                plus an optional "__metadata__" object of string -> string
//     [rest]     the data section; data_offsets are relative to its start
//
// Values are little-endian and C (row-major) ordered.

/// Element types this package reads, spelled as in safetensors headers.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8: return 1
        }
    }
}

/// A safetensors file, validated when opened and read tensor by tensor.
///
/// The file stays open, never mapped (``InputFileReader``): opening reads
/// the header only, and each accessor reads its tensor in blocks of 1 MB,
/// converting each into the returned array, so a tensor is copied once and
/// the file's pages are never part of the process's memory. A file that
/// another process cuts while a value of this type is alive gives
/// `SafetensorsError.unreadable` naming the change, not a fault.
///
/// Opening checks what the format's own library (`safetensors`,
/// `Metadata::validate`) checks, without reading tensor data: the header's
/// length (at most ``maximumHeaderLength``, inside the file), that it is a
/// UTF-8 JSON object starting with `{`, every entry's fields (`dtype`,
/// `shape` and `data_offsets` and nothing else; shapes and offsets JSON
/// integers, not booleans or floats), every dtype, that each tensor spans
/// `shape x dtype size` bytes, and that the tensors cover the data section
/// exactly: from byte 0, each beginning where the previous one ends, the last
/// ending at the end of the file (no gaps, no overlaps, no bytes after the
/// last tensor). A problem is a `SafetensorsError` naming the file and what
/// is wrong.
///
///     let weights = try SafetensorsFile(contentsOf: url)
///     let w = try weights.tensor("features.0.weight")   // F32/F16/BF16/... -> float32
///     let target = try weights.integers("target")         // I64/I32/U8 -> Int
public struct SafetensorsFile: Sendable {
    /// Headers longer than this are rejected as corrupt, as the reference
    /// implementation does.
    public static let maximumHeaderLength = 100_000_000

    /// The file read.
    public let url: URL
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Names of all tensors, sorted.
    public let names: [String]

    private struct Entry: Sendable {
        let dtype: SafetensorsDType
        let shape: [Int]
        /// Byte range in the whole file (data section offsets shifted by its start).
        let bytes: Range<Int>
    }

    private let entries: [String: Entry]
    private let file: InputFileReader

    /// Opens and validates the safetensors file at `path`.
    public init(path: String) throws {
        try self.init(contentsOf: URL(fileURLWithPath: path))
    }

    /// Opens and validates the safetensors file at `url` (a file URL).
    public init(contentsOf url: URL) throws {
        let path = url.path
        let file: InputFileReader
        do {
            file = try InputFileReader(url)
        } catch InputFileError.missing {
            throw SafetensorsError.fileNotFound(path: path)
        } catch {
            throw SafetensorsError.unreadable(path: path, reason: "\(error)")
        }
        func read(_ range: Range<Int>) throws -> Data {
            do { return try file.bytes(range) } catch { throw SafetensorsError.unreadable(path: path, reason: "\(error)") }
        }

        guard file.size >= 8 else { throw SafetensorsError.truncated(path: path, size: file.size) }
        let headerLength = try read(0..<8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw SafetensorsError.headerTooLarge(path: path, headerLength: headerLength, limit: Self.maximumHeaderLength)
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= file.size else {
            throw SafetensorsError.headerPastEnd(path: path, headerLength: Int(headerLength), fileSize: file.size)
        }

        let headerBytes = try read(8..<dataStart)
        guard headerBytes.first == UInt8(ascii: "{"), String(data: headerBytes, encoding: .utf8) != nil else {
            throw SafetensorsError.invalidHeader(path: path, reason: "the header is not UTF-8 JSON starting with '{'")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: "not valid JSON (\(InputFile.reason(error)))")
        }
        guard let header = json as? [String: Any] else {
            throw SafetensorsError.invalidHeader(path: path, reason: "the JSON is not an object")
        }

        self.url = url
        self.file = file
        self.metadata = try Self.parseMetadata(header["__metadata__"], path: path)
        self.entries = try Self.parseEntries(header, dataStart: dataStart, dataSize: file.size - dataStart, path: path)
        self.names = entries.keys.sorted()
    }

    /// Whether the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The stored dtype and shape of tensor `name` (`[]` for a scalar).
    public func info(_ name: String) throws -> (dtype: SafetensorsDType, shape: [Int]) {
        let entry = try entry(name)
        return (entry.dtype, entry.shape)
    }

    /// Tensor `name` converted to float32, whatever its dtype. F16 and BF16
    /// convert exactly; F64, I64 and I32 round to the nearest float.
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try entry(name)
        let values: [Float]
        switch entry.dtype {
        case .f32: values = try decode(entry, as: UInt32.self) { Float(bitPattern: $0) }
        case .f16:
            values = try float16Values.withUnsafeBufferPointer { table in try decode(entry, as: UInt16.self) { table[Int($0)] } }
        case .bf16: values = try decode(entry, as: UInt16.self) { Float(bitPattern: UInt32($0) << 16) }
        case .f64: values = try decode(entry, as: UInt64.self) { Float(Double(bitPattern: $0)) }
        case .i64: values = try decode(entry, as: Int64.self) { Float($0) }
        case .i32: values = try decode(entry, as: Int32.self) { Float($0) }
        case .u8: values = try decode(entry, as: UInt8.self) { Float($0) }
        }
        return Tensor(shape: entry.shape, storage: values)
    }

    /// The values of integer tensor `name` (I64, I32 or U8), flattened in C order.
    public func integers(_ name: String) throws -> [Int] {
        let entry = try entry(name, accepting: [.i64, .i32, .u8])
        switch entry.dtype {
        case .i64: return try decode(entry, as: Int64.self) { Int($0) }
        case .i32: return try decode(entry, as: Int32.self) { Int($0) }
        default: return try decode(entry, as: UInt8.self) { Int($0) }
        }
    }

    /// The raw bytes of U8 tensor `name` (e.g. decoded image pixels), flattened in C order.
    public func bytes(_ name: String) throws -> [UInt8] {
        let entry = try entry(name, accepting: [.u8])
        return try decode(entry, as: UInt8.self) { $0 }
    }

    // MARK: - Lookup

    private func entry(_ name: String, accepting accepted: [SafetensorsDType]? = nil) throws -> Entry {
        guard let entry = entries[name] else {
            throw SafetensorsError.tensorNotFound(path: url.path, name: name, closest: closestNames(to: name),
                                                  tensorCount: names.count)
        }
        if let accepted, !accepted.contains(entry.dtype) {
            throw SafetensorsError.wrongDType(path: url.path, tensor: name, dtype: entry.dtype, accepted: accepted)
        }
        return entry
    }

    /// Up to five names sharing the longest prefix with `name`, for error messages.
    private func closestNames(to name: String) -> [String] {
        func sharedPrefix(_ other: String) -> Int { zip(name, other).prefix { $0 == $1 }.count }
        return names.map { ($0, sharedPrefix($0)) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .prefix(5).map(\.0)
    }

    /// The little-endian `Raw` words of `entry`, each converted by
    /// `convert`, into a new array: read in blocks of `decodeBlock` bytes.
    /// - Throws: `SafetensorsError.unreadable` when the file cannot be read
    ///   or was cut since it was opened.
    private func decode<Raw: FixedWidthInteger, Element>(_ entry: Entry, as _: Raw.Type,
                                                         _ convert: (Raw) -> Element) throws -> [Element] {
        let count = entry.bytes.count / MemoryLayout<Raw>.size, wordsPerBlock = Self.decodeBlock / MemoryLayout<Raw>.size
        var block = [Raw](repeating: 0, count: min(count, wordsPerBlock))
        return try [Element](unsafeUninitializedCapacity: count) { values, initialized in
            while initialized < count {
                let n = min(wordsPerBlock, count - initialized)
                try block.withUnsafeMutableBytes { words in
                    do {
                        try file.read(at: entry.bytes.lowerBound + initialized * MemoryLayout<Raw>.size,
                                      into: UnsafeMutableRawBufferPointer(rebasing: words[0..<(n * MemoryLayout<Raw>.size)]))
                    } catch {
                        throw SafetensorsError.unreadable(path: url.path, reason: "\(error)")
                    }
                }
                for i in 0..<n { values[initialized + i] = convert(Raw(littleEndian: block[i])) }
                initialized += n
            }
        }
    }

    /// Bytes one read of ``decode(_:as:_:)`` takes: 1 MB.
    private static let decodeBlock = 1 << 20

    // MARK: - Header parsing

    private static func parseMetadata(_ value: Any?, path: String) throws -> [String: String] {
        guard let value else { return [:] }
        guard let object = value as? [String: Any] else {
            throw SafetensorsError.invalidHeader(path: path, reason: "\"__metadata__\" is not an object")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object {
            guard let string = item as? String else {
                throw SafetensorsError.invalidHeader(
                    path: path, reason: "\"__metadata__\" entry '\(key)' is not a string (metadata maps strings to strings)")
            }
            metadata[key] = string
        }
        return metadata
    }

    private static func parseEntries(_ header: [String: Any], dataStart: Int, dataSize: Int,
                                     path: String) throws -> [String: Entry] {
        var entries: [String: Entry] = [:]
        for name in header.keys.sorted() where name != "__metadata__" {
            func malformed(_ problem: String) -> SafetensorsError {
                .invalidHeader(path: path, reason: "tensor '\(name)': \(problem)")
            }
            guard let fields = header[name] as? [String: Any] else { throw malformed("entry is not an object") }
            if let unknown = Set(fields.keys).subtracting(["dtype", "shape", "data_offsets"]).sorted().first {
                throw malformed("unknown field \"\(unknown)\" (an entry has only dtype, shape and data_offsets)")
            }
            guard let dtypeName = fields["dtype"] as? String else { throw malformed("\"dtype\" is missing or not a string") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
            }
            guard let shape = nonNegativeIntegers(fields["shape"]) else {
                throw malformed("\"shape\" is missing or not an array of non-negative integers")
            }
            guard let offsets = nonNegativeIntegers(fields["data_offsets"]), offsets.count == 2 else {
                throw malformed("\"data_offsets\" is missing or not two non-negative integers [begin, end]")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end else {
                throw SafetensorsError.reversedOffsets(path: path, tensor: name, begin: begin, end: end)
            }
            guard end <= dataSize else {
                throw SafetensorsError.offsetsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
            }
            guard let byteCount = byteCount(of: shape, dtype: dtype) else {
                throw malformed("shape \(shape) has too many elements")
            }
            guard byteCount == end - begin else {
                throw SafetensorsError.byteCountMismatch(path: path, tensor: name, dtype: dtype, shape: shape,
                                                         expected: byteCount, actual: end - begin)
            }
            entries[name] = Entry(dtype: dtype, shape: shape, bytes: (dataStart + begin)..<(dataStart + end))
        }

        // Sorted by (begin, end), the ranges must tile 0 ..< dataSize: each
        // begins where the one before ends (empty tensors included).
        let relative = { (range: Range<Int>) in (range.lowerBound - dataStart)..<(range.upperBound - dataStart) }
        let ordered = entries.map { ($0.key, relative($0.value.bytes)) }
            .sorted { ($0.1.lowerBound, $0.1.upperBound, $0.0) < ($1.1.lowerBound, $1.1.upperBound, $1.0) }
        var covered = 0, previous: (String, Range<Int>)?
        for (name, range) in ordered {
            if range.lowerBound < covered, let previous {
                throw SafetensorsError.overlappingTensors(path: path, tensor: previous.0, range: previous.1,
                                                          other: name, otherRange: range)
            }
            if range.lowerBound > covered {
                throw SafetensorsError.uncoveredData(path: path, range: covered..<range.lowerBound, dataSize: dataSize)
            }
            covered = range.upperBound
            previous = (name, range)
        }
        guard covered == dataSize else {
            throw SafetensorsError.uncoveredData(path: path, range: covered..<dataSize, dataSize: dataSize)
        }
        return entries
    }

    /// `value` as `[Int]` if it is a JSON array of non-negative integers:
    /// written as integers (`2`, not `2.0`, `2e0` or `true`, which Foundation
    /// would also convert to Int) and within Int's range.
    private static func nonNegativeIntegers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var integers: [Int] = []
        integers.reserveCapacity(array.count)
        for element in array {
            guard let number = element as? NSNumber, integerTypes.contains(String(cString: number.objCType)),
                  let integer = element as? Int, integer >= 0 else { return nil }
            integers.append(integer)
        }
        return integers
    }

    /// `NSNumber.objCType` of integers parsed by JSONSerialization (booleans
    /// are `c`, numbers with a fraction or exponent `d`).
    private static let integerTypes: Set<String> = ["s", "i", "l", "q", "S", "I", "L", "Q"]

    /// `product(shape) * dtype.byteSize`, or nil on overflow.
    private static func byteCount(of shape: [Int], dtype: SafetensorsDType) -> Int? {
        var count = dtype.byteSize
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            count = product
        }
        return count
    }
}

/// Every binary16 bit pattern as a Float (exact), 256 KB built on first use:
/// a table lookup converts F16 several times faster than `Float(Float16)`,
/// which has no hardware path on baseline x86_64.
private let float16Values: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }

// MARK: - Writing

/// Writes safetensors files that the reference implementation (and thus
/// PyTorch and NumPy) reads: float tensors as F32, integer tensors as I64.
public enum SafetensorsWriter {
    /// Writes `tensors` (F32), `integers` (I64; `values` in C order, as many
    /// as `shape` has elements) and `metadata` (the header's `__metadata__`)
    /// to `url`, replacing any file there.
    ///
    /// The layout is the reference library's: header keys sorted, header
    /// padded with spaces to a multiple of 8 bytes, data ordered I64 then
    /// F32, each by name. The file is written next to `url` under a temporary
    /// name, flushed to disk, and renamed over `url`, so `url` ends up with
    /// either the whole new file or what it had before; on failure no
    /// temporary file is left behind.
    ///
    /// - Throws: `SafetensorsError.invalidInput` when a name is used twice or
    ///   is `__metadata__`, or an integer tensor's values do not fill its
    ///   shape; ``OutputError`` when the file cannot be written.
    public static func write(
        tensors: [String: Tensor],
        integers: [String: (shape: [Int], values: [Int])] = [:],
        metadata: [String: String] = [:],
        to url: URL
    ) throws {
        let path = url.path
        if let name = Set(tensors.keys).intersection(integers.keys).min() {
            throw SafetensorsError.invalidInput(path: path, reason: "'\(name)' is both a float and an integer tensor")
        }
        if tensors["__metadata__"] != nil || integers["__metadata__"] != nil {
            throw SafetensorsError.invalidInput(path: path, reason: "'__metadata__' is reserved and cannot name a tensor")
        }
        for (name, integer) in integers where integer.shape.contains(where: { $0 < 0 })
            || integer.shape.reduce(1, *) != integer.values.count {
            throw SafetensorsError.invalidInput(
                path: path, reason: "integer tensor '\(name)' has \(integer.values.count) values for shape \(integer.shape)")
        }

        let integerNames = integers.keys.sorted(), floatNames = tensors.keys.sorted()
        var entries: [String: String] = [:]
        var offset = 0
        func addEntry(_ name: String, dtype: SafetensorsDType, shape: [Int], count: Int) {
            let end = offset + count * dtype.byteSize
            entries[name] = "{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        for name in integerNames { addEntry(name, dtype: .i64, shape: integers[name]!.shape, count: integers[name]!.values.count) }
        for name in floatNames { addEntry(name, dtype: .f32, shape: tensors[name]!.shape, count: tensors[name]!.count) }

        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        fields += entries.keys.sorted().map { "\(jsonString($0)):\(entries[$0]!)" }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        let output = try AtomicFile(destination: url)
        try output.append([UInt64(header.count)]) { $0 }
        try output.append(header) { $0 }
        for name in integerNames { try output.append(integers[name]!.values) { Int64($0) } }
        for name in floatNames { try output.append(tensors[name]!.storage) { $0.bitPattern } }
        try output.commit()
    }

    /// `string` as a JSON string literal.
    private static func jsonString(_ string: String) -> String {
        var literal = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": literal += "\\\""
            case "\\": literal += "\\\\"
            case "\n": literal += "\\n"
            case "\r": literal += "\\r"
            case "\t": literal += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                literal += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: literal.unicodeScalars.append(scalar)
            }
        }
        return literal + "\""
    }
}

extension AtomicFile {
    /// Appends `values`, each converted by `encode` and stored little-endian,
    /// through a bounded buffer (1 MB for 4-byte words).
    fileprivate func append<Value, Word: FixedWidthInteger>(_ values: [Value], encode: (Value) -> Word) throws {
        let chunkLength = 1 << 18
        var chunk = [Word](repeating: 0, count: min(values.count, chunkLength))
        try values.withUnsafeBufferPointer { source in
            var start = 0
            while start < source.count {
                let end = min(start + chunkLength, source.count)
                try chunk.withUnsafeMutableBufferPointer { words in
                    for i in start..<end { words[i - start] = encode(source[i]).littleEndian }
                    try append(UnsafeRawBufferPointer(start: words.baseAddress, count: (end - start) * MemoryLayout<Word>.size))
                }
                start = end
            }
        }
    }
}

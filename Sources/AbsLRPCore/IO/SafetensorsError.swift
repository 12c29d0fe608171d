/// What went wrong reading or writing a safetensors file.
///
/// Every case carries the file's path, and `description` says what is wrong
/// and what to do about it, so the error can be shown to a user as it is.
/// Structural problems are found when the file is opened
/// (`SafetensorsFile.init`); lookups report missing tensors and dtypes that do
/// not suit the requested conversion.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// Nothing exists at `path`.
    case fileNotFound(path: String)
    /// `path` exists but cannot be read (a directory, no permission, I/O error).
    case unreadable(path: String, reason: String)
    /// The file has fewer than the 8 bytes of the header-length prefix.
    case truncated(path: String, size: Int)
    /// The header-length prefix exceeds `limit`, far beyond any real header.
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    /// The header-length prefix points past the end of the file.
    case headerPastEnd(path: String, headerLength: Int, fileSize: Int)
    /// The header is not UTF-8 JSON, not an object, or has a malformed entry.
    case invalidHeader(path: String, reason: String)
    /// A tensor's dtype is not one of `SafetensorsDType`.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A tensor's `data_offsets` end before they begin.
    case reversedOffsets(path: String, tensor: String, begin: Int, end: Int)
    /// A tensor's `data_offsets` reach past the data section of `dataSize` bytes.
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors' byte ranges (as `data_offsets` half-open ranges) overlap.
    case overlappingTensors(path: String, tensor: String, range: Range<Int>, other: String, otherRange: Range<Int>)
    /// Bytes `range` of the data section (of `dataSize` bytes) belong to no
    /// tensor: a gap between tensors, or bytes after the last one.
    case uncoveredData(path: String, range: Range<Int>, dataSize: Int)
    /// A tensor's byte range does not have `shape x dtype.byteSize` bytes.
    case byteCountMismatch(path: String, tensor: String, dtype: SafetensorsDType, shape: [Int], expected: Int, actual: Int)
    /// No tensor is called `name`; `closest` lists a few names that are there.
    case tensorNotFound(path: String, name: String, closest: [String], tensorCount: Int)
    /// The tensor's dtype cannot be read as requested (e.g. integers from F32).
    case wrongDType(path: String, tensor: String, dtype: SafetensorsDType, accepted: [SafetensorsDType])
    /// The tensors given to `SafetensorsWriter.write` cannot form a valid file.
    case invalidInput(path: String, reason: String)

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "safetensors file not found: \(path); check the path (and that the download finished)"
        case let .unreadable(path, reason):
            return "cannot read safetensors file \(path): \(reason)"
        case let .truncated(path, size):
            return "\(path) is \(size) bytes long, shorter than the 8-byte header-length prefix of a "
                + "safetensors file; the file is truncated or not a safetensors file, download or export it again"
        case let .headerTooLarge(path, headerLength, limit):
            return "\(path): header length prefix says \(headerLength) bytes, more than the \(limit)-byte limit; "
                + "the file is corrupt or not a safetensors file"
        case let .headerPastEnd(path, headerLength, fileSize):
            return "\(path): header length prefix says \(headerLength) bytes but the file has only "
                + "\(fileSize - 8) bytes after the prefix; the file is truncated or corrupt, download or export it again"
        case let .invalidHeader(path, reason):
            return "\(path): invalid safetensors header: \(reason); the file is corrupt or not a safetensors file"
        case let .unsupportedDType(path, tensor, dtype):
            let supported = SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(path): tensor '\(tensor)' has dtype '\(dtype)', which is not supported (supported: \(supported)); "
                + "convert the file, e.g. in Python with safetensors and tensor.float()"
        case let .reversedOffsets(path, tensor, begin, end):
            return "\(path): tensor '\(tensor)' has data_offsets [\(begin), \(end)], whose end precedes its begin; "
                + "the header is corrupt"
        case let .offsetsOutOfRange(path, tensor, begin, end, dataSize):
            return "\(path): tensor '\(tensor)' has data_offsets [\(begin), \(end)] but the data section holds only "
                + "\(dataSize) bytes; the file is truncated or its header is corrupt, download or export it again"
        case let .overlappingTensors(path, tensor, range, other, otherRange):
            return "\(path): tensors '\(tensor)' (data_offsets [\(range.lowerBound), \(range.upperBound)]) and "
                + "'\(other)' (data_offsets [\(otherRange.lowerBound), \(otherRange.upperBound)]) share bytes; "
                + "the header is corrupt"
        case let .uncoveredData(path, range, dataSize):
            let place = range.upperBound == dataSize ? "after the last tensor" : "between tensors"
            return "\(path): bytes [\(range.lowerBound), \(range.upperBound)) of the \(dataSize)-byte data section "
                + "belong to no tensor (\(place)); the file is corrupt or was not written by a safetensors library"
        case let .byteCountMismatch(path, tensor, dtype, shape, expected, actual):
            return "\(path): tensor '\(tensor)' (\(dtype.rawValue), shape \(shape)) needs \(expected) bytes but its "
                + "data_offsets span \(actual); the header is corrupt"
        case let .tensorNotFound(path, name, closest, tensorCount):
            let hint = closest.isEmpty ? "the file has no tensors"
                : "it has \(tensorCount) tensors, the closest names being "
                    + closest.map { "'\($0)'" }.joined(separator: ", ")
            return "\(path) has no tensor '\(name)': \(hint); check that the file matches the model architecture"
        case let .wrongDType(path, tensor, dtype, accepted):
            return "\(path): tensor '\(tensor)' has dtype \(dtype.rawValue), but this accessor reads only "
                + accepted.map(\.rawValue).joined(separator: ", ") + "; use tensor(_:) to read it as float32"
        case let .invalidInput(path, reason):
            return "cannot write safetensors file \(path): \(reason)"
        }
    }
}

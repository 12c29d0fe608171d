import CZlib
import Foundation

/// Reads a whole file through zlib's `gzread`, which inflates gzip files
/// (also several concatenated members) and passes any other file through
/// unchanged, so `.gz` and plain files read alike.
enum GzipReader {
    /// The file's (decompressed) bytes.
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` when the file is
    ///   missing or its gzip stream is damaged.
    static func read(_ url: URL) throws -> [UInt8] {
        guard let file = gzopen(url.path, "rb") else {
            throw GAEError.invalidDataset(path: url.path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown zlib error"
                throw GAEError.invalidDataset(path: url.path, reason: "damaged compressed data (\(message))")
            }
            if n == 0 { break }
            bytes += chunk[0..<Int(n)]
        }
        return bytes
    }
}

import AbsLRPCore
import CZlib
import Foundation

/// Reads a whole file, inflating it when it is gzip (RFC 1952: starts with
/// `1f 8b`), so `.gz` and plain files read alike.
///
/// A gzip file is inflated strictly, member after member: every member must
/// end with its trailer, whose CRC-32 and ISIZE (length mod 2^32) zlib checks
/// against the inflated bytes; a file cut anywhere, a wrong checksum or
/// length, or bytes after the last member that are not another member are
/// errors. The inflated size is bounded by ``maximumSize`` so that a small
/// file cannot claim gigabytes of memory.
enum GzipReader {
    /// The largest file (after inflating) read: 2 GiB, 40 times the
    /// Fashion-MNIST training images.
    static let maximumSize = 1 << 31

    /// The file's (inflated) bytes.
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` when the file is
    ///   missing or unreadable, its gzip stream is damaged or cut, or it is
    ///   larger than `limit`.
    static func read(_ url: URL, limit: Int = maximumSize) throws -> [UInt8] {
        func unreadable(_ error: Error) -> GAEError { .invalidDataset(path: url.path, reason: "cannot read it: \(error)") }
        let file: InputFileReader
        do { file = try InputFileReader(url) } catch { throw unreadable(error) }
        guard file.size <= limit else { throw tooLarge(url, limit) }  // before reading it
        let data: Data
        do { data = try file.bytes(0..<file.size) } catch { throw unreadable(error) }
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            return [UInt8](data)
        }
        return try data.withUnsafeBytes { try inflate(UnsafeRawBufferPointer($0), url: url, limit: limit) }
    }

    /// Inflates every gzip member of `compressed`.
    private static func inflate(_ compressed: UnsafeRawBufferPointer, url: URL, limit: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while offset < compressed.count {
            guard compressed.count - offset >= 2, compressed[offset] == 0x1F, compressed[offset + 1] == 0x8B else {
                throw damaged(url, "\(compressed.count - offset) bytes after the last gzip member are not another member")
            }
            var stream = z_stream()
            // 16 + MAX_WBITS: gzip wrapper only; zlib checks the trailer's CRC-32 and ISIZE.
            guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw damaged(url, "zlib could not start inflating")
            }
            defer { inflateEnd(&stream) }
            stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset)
            let available = compressed.count - offset  // at most `limit` < 2^32
            stream.avail_in = UInt32(available)
            var status: Int32 = Z_OK
            while status != Z_STREAM_END {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    if status == Z_BUF_ERROR {
                        throw damaged(url, "the file ends inside a gzip member (cut before its trailer)")
                    }
                    throw damaged(url, stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
                }
                guard output.count + produced <= limit else { throw tooLarge(url, limit) }
                output += chunk[0..<produced]
            }
            let consumed = available - Int(stream.avail_in)
            offset += consumed
        }
        return output
    }

    private static func damaged(_ url: URL, _ reason: String) -> GAEError {
        .invalidDataset(path: url.path, reason: "damaged gzip data: \(reason)")
    }

    private static func tooLarge(_ url: URL, _ limit: Int) -> GAEError {
        .invalidDataset(path: url.path, reason: "larger than \(limit) bytes, the limit of a data-set file")
    }
}

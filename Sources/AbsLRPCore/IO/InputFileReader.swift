import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file a user named (``InputFile``), open for reading at any
/// offset with `pread`, never mapped: a file that another process truncates
/// while it is read gives a short read, which is
/// ``InputFileError/changedSize(from:to:)``, where a mapping would fault
/// (SIGBUS) on its lost pages.
///
/// `size` is the file's length when it was opened; every read must lie
/// within it. Reads at different offsets may run on several threads at once.
public final class InputFileReader: @unchecked Sendable {
    /// The file's length in bytes when it was opened.
    public let size: Int
    private let descriptor: Int32

    /// Opens the regular file at `url` (checked by ``InputFile/requireRegularFile(_:)``
    /// before it is opened, so no open blocks on a FIFO).
    /// - Throws: ``InputFileError``.
    public init(_ url: URL) throws {
        try InputFile.requireRegularFile(url)
        descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw InputFileError.unreadable(reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw InputFileError.unreadable(reason: reason)
        }
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` with the bytes from `offset` on (`offset + buffer.count <= size`).
    /// - Throws: ``InputFileError/changedSize(from:to:)`` when the file
    ///   ends before them, ``InputFileError/unreadable(reason:)`` on an I/O error.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        precondition(offset >= 0 && offset + buffer.count <= size, "read \(offset)..<\(offset + buffer.count) of \(size) bytes")
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw InputFileError.unreadable(reason: String(cString: strerror(errno)))
            }
            guard n > 0 else { throw InputFileError.changedSize(from: size, to: currentSize) }
            done += n
        }
    }

    /// The bytes `range` (within `size`).
    /// - Throws: as ``read(at:into:)``.
    public func bytes(_ range: Range<Int>) throws -> Data {
        var data = Data(count: range.count)
        try data.withUnsafeMutableBytes { try read(at: range.lowerBound, into: $0) }
        return data
    }

    /// Throws ``InputFileError/changedSize(from:to:)`` unless the file still
    /// has the length it had when opened: for a reader that has taken what
    /// it needs and must know that no other process cut or appended to the
    /// file meanwhile.
    public func requireUnchangedSize() throws {
        let now = currentSize
        guard now == size else { throw InputFileError.changedSize(from: size, to: now) }
    }

    /// The file's length now.
    private var currentSize: Int {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
    }
}

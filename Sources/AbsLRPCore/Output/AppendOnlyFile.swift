import Foundation

/// A file that grows only by whole appends, each on disk before
/// ``append(_:)`` returns (`write` of all its bytes, then `fsync`).
///
/// A failed append is cut off again, so the file is always a sequence of
/// complete appends, except after a crash in the middle of one: then the
/// reader finds a torn tail and must drop it (a journal's records carry a
/// checksum for that, e.g. GAE's `GAEJournal`).
public final class AppendOnlyFile {
    /// The file's path.
    public let url: URL
    private let descriptor: Int32

    /// Opens the existing file at `url` for appending.
    /// - Throws: ``OutputError/cannotWrite(path:reason:)``.
    public init(url: URL) throws {
        self.url = url
        descriptor = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { throw OutputError.cannotWrite(path: url.path, reason: errorText()) }
    }

    deinit { close(descriptor) }

    /// Cuts the file to its first `length` bytes, on disk before returning.
    public func truncate(to length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0, fsync(descriptor) == 0 else {
            throw OutputError.cannotWrite(path: url.path, reason: "cannot cut the file to \(length) bytes: \(errorText())")
        }
    }

    /// Appends `data` and flushes it to disk.
    public func append(_ data: Data) throws {
        let end = lseek(descriptor, 0, SEEK_END)
        do {
            try data.withUnsafeBytes { try writeAll($0, to: descriptor) }
            guard fsync(descriptor) == 0 else { throw WriteFailure(reason: "cannot flush: \(errorText())") }
        } catch let failure as WriteFailure {
            _ = ftruncate(descriptor, end)
            throw OutputError.cannotWrite(path: url.path, reason: failure.reason)
        }
    }
}

import Foundation

/// The one way files are written: bytes go to a hidden temporary file in the
/// destination's folder (`.<name>.<owner>-<8 hex>.tmp`, `flock`ed while it is
/// written: an ``AbandonedEntry``), are flushed to disk, and the
/// file is renamed over the destination by ``commit()``. A reader, or a run
/// interrupted at any point, sees the previous file or the complete new one,
/// never a part; ``discard()`` (or dropping an uncommitted writer) removes
/// the temporary file. One left by a killed writer is removed by
/// ``removeStaleTemporaries(in:)``, which every ``RunOutput`` calls for its
/// folders (temporaries inside a staging folder go with the folder).
///
///     let file = try AtomicFile(destination: url)
///     try file.append(header)
///     try file.append(body)
///     try file.commit()
///
/// ``write(_:to:)`` does all of it for bytes already in memory. A set of files
/// that must appear together (one run's outputs) goes through ``RunOutput``,
/// which stages such files and moves them into place at the end.
public final class AtomicFile {
    /// Where the file appears on ``commit()``.
    public let destination: URL
    private let temporary: String
    private var descriptor: Int32
    private var finished = false

    /// Creates the temporary file beside `destination`.
    /// - Throws: ``OutputError/cannotWrite(path:reason:)`` when the folder is
    ///   missing or not writable.
    public init(destination: URL) throws {
        self.destination = destination
        let folder = destination.deletingLastPathComponent()
        temporary = folder.appendingPathComponent(
            HiddenName.beside(destination.lastPathComponent, suffix: "\(AbandonedEntry.newTag())\(Self.temporarySuffix)")).path
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw OutputError.cannotWrite(path: destination.path,
                                          reason: "cannot create a file in \(folder.path): \(Self.errorText())")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = Self.errorText()
            discard()
            throw OutputError.cannotWrite(path: destination.path, reason: "cannot lock \(temporary): \(reason)")
        }
    }

    private static let temporarySuffix = ".tmp"

    /// Removes the temporary files in `folder` of writers that are no longer
    /// running (`.<name>.<owner>-<8 hex>.tmp`, by ``AbandonedEntry``'s rules;
    /// an older version's `.<name>.<uuid>.tmp` is left alone).
    /// - Returns: what was removed.
    static func removeStaleTemporaries(in folder: URL) -> [AbandonedEntry] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return entries.sorted().compactMap { entry in
            guard entry.hasPrefix("."), entry.hasSuffix(temporarySuffix) else { return nil }
            let stem = entry.dropLast(temporarySuffix.count)
            guard let dot = stem.lastIndex(of: "."), dot != stem.startIndex,
                  let owner = AbandonedEntry.owner(ofTag: stem[stem.index(after: dot)...]) else { return nil }
            return AbandonedEntry.remove(folder.appendingPathComponent(entry), owner: owner, isFolder: false)
        }
    }

    deinit { if !finished { discard() } }

    /// Appends `bytes` to the file.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        do { try writeAll(bytes, to: descriptor) } catch let failure as WriteFailure { throw self.failure(failure.reason) }
    }

    /// Appends `data` to the file.
    public func append(_ data: Data) throws {
        try data.withUnsafeBytes { try append($0) }
    }

    /// Flushes the file to disk and renames it onto ``destination``,
    /// replacing what was there.
    public func commit() throws {
        precondition(!finished, "AtomicFile.commit() called twice or after discard()")
        guard fsync(descriptor) == 0 else { throw failure("cannot flush: \(Self.errorText())") }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw failure("cannot close: \(Self.errorText())") }
        guard rename(temporary, destination.path) == 0 else {
            throw failure("cannot move the finished file into place: \(Self.errorText())")
        }
        finished = true
    }

    /// Closes and removes the temporary file; ``destination`` is untouched.
    public func discard() {
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
        _ = unlink(temporary)
        finished = true
    }

    /// Writes `data` to `url` whole or not at all.
    public static func write(_ data: Data, to url: URL) throws {
        let file = try AtomicFile(destination: url)
        try file.append(data)
        try file.commit()
    }

    private func failure(_ reason: String) -> OutputError {
        discard()
        return .cannotWrite(path: destination.path, reason: reason)
    }

    private static func errorText() -> String { AbsLRPCore.errorText() }
}

/// Why a `write` to a file descriptor failed (`strerror` text).
struct WriteFailure: Error {
    let reason: String
}

/// Writes all of `bytes` to `descriptor`, retrying short and interrupted writes.
/// - Throws: ``WriteFailure``.
func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws {
    var remaining = bytes
    while !remaining.isEmpty {
        let written = Foundation.write(descriptor, remaining.baseAddress, remaining.count)
        if written < 0 {
            if errno == EINTR { continue }
            throw WriteFailure(reason: errorText())
        }
        remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
    }
}

/// The current `errno` as text.
func errorText() -> String { String(cString: strerror(errno)) }

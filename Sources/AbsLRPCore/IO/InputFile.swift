import Foundation

/// The one way a file a user names is read (weights, `--config`, `--tensor`,
/// data sets, label files, results to merge): the path must name a regular
/// file, links followed. A directory, a character or block device
/// (`/dev/zero`), a FIFO or a socket is refused from `stat` before anything
/// is opened, so no read blocks on a FIFO or runs on forever on a device, and
/// the refusal says what the path is instead of Foundation's "permission" or
/// "NSCocoaErrorDomain error 256". (Images are checked the same way by
/// `CImageIO`, which opens them itself.)
public enum InputFile {
    /// The bytes of the regular file at `url`, read (``InputFileReader``),
    /// never mapped, so a file cut by another process meanwhile is an error,
    /// not a fault.
    /// - Throws: ``InputFileError``; each reader wraps it in its own typed
    ///   error, which names the file and what it was read as.
    public static func contents(of url: URL) throws -> Data {
        let file = try InputFileReader(url)
        return try file.bytes(0..<file.size)
    }

    /// Throws ``InputFileError`` unless `url` names a regular file (links followed).
    public static func requireRegularFile(_ url: URL) throws {
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? InputFileError.missing
                : InputFileError.unreadable(reason: String(cString: strerror(code)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw InputFileError.directory
        case S_IFCHR: throw InputFileError.notRegular(kind: "character device")
        case S_IFBLK: throw InputFileError.notRegular(kind: "block device")
        case S_IFIFO: throw InputFileError.notRegular(kind: "FIFO")
        case S_IFSOCK: throw InputFileError.notRegular(kind: "socket")
        default: throw InputFileError.notRegular(kind: "special file")
        }
    }

    /// A short reason for a Foundation read error: the POSIX message when
    /// there is one ("Permission denied"), else the debug or localized description.
    static func reason(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.userInfo[NSDebugDescriptionErrorKey] as? String ?? nsError.localizedDescription
    }
}

/// Why a path a user named cannot be read as a file. `description` is the
/// reason alone ("it is a directory, not a file"); the reader's own error
/// adds the path and what the file was meant to be.
public enum InputFileError: Error, Equatable, CustomStringConvertible {
    /// Nothing exists at the path.
    case missing
    /// The path names a directory.
    case directory
    /// The path names a device, FIFO or socket (`kind`), which is never read.
    case notRegular(kind: String)
    /// A regular file that cannot be read (no permission, I/O error): the system's reason.
    case unreadable(reason: String)
    /// The file's length changed from `from` to `to` bytes while it was read.
    case changedSize(from: Int, to: Int)

    public var description: String {
        switch self {
        case .missing: return "no such file"
        case .directory: return "it is a directory, not a file"
        case let .notRegular(kind): return "it is a \(kind), not a regular file"
        case let .unreadable(reason): return reason
        case let .changedSize(from, to):
            return "it changed from \(from) to \(to) bytes while it was read (another process is writing it)"
        }
    }
}

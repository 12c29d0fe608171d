import Foundation

/// Whole-file writes: the bytes go to a hidden temporary file in the
/// destination's folder, are flushed to disk, and the file is renamed over
/// the destination. A reader (or a run interrupted at any point) sees the
/// previous file or the complete new one, never a part; a failed write
/// removes its temporary file.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw GAEError.cannotWrite(path: url.path, reason: "cannot create a file in \(folder.path): \(errorText())")
        }
        var failure: String?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errorText()
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errorText() }
        if close(descriptor) != 0, failure == nil { failure = errorText() }
        if failure == nil, rename(temporary, url.path) != 0 { failure = "cannot move the finished file into place: \(errorText())" }
        if let failure {
            unlink(temporary)
            throw GAEError.cannotWrite(path: url.path, reason: failure)
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

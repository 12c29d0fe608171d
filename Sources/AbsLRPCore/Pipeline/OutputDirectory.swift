import Foundation

/// Output folders are created and checked before any long computation, so
/// an unwritable destination fails in the first second, not after an hour.
public enum OutputDirectory {
    /// Creates `url` (and parents) and checks that files can be created in it.
    public static func prepare(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw OutputDirectoryError.unwritable(path: url.path, reason: (error as NSError).localizedFailureReason
                                                    ?? error.localizedDescription)
        }
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw OutputDirectoryError.unwritable(path: url.path, reason: "permission denied")
        }
    }
}

/// An output folder that cannot be used.
public enum OutputDirectoryError: Error, CustomStringConvertible, Equatable {
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unwritable(let path, let reason): return "cannot write to \(path): \(reason)"
        }
    }
}

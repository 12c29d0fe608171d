import Foundation

/// An output that cannot be written. Nothing partial is left behind: a file
/// is whole or absent, a run's set of files is committed whole or not at all.
public enum OutputError: Error, CustomStringConvertible, Equatable {
    /// The output folder cannot be created or is not writable.
    case unwritableFolder(path: String, reason: String)
    /// The file at `path` could not be written (full disk, removed folder, ...).
    case cannotWrite(path: String, reason: String)
    /// A run's staged files could not be moved into the output folder (the
    /// folder was removed or made read-only while the run went on).
    case cannotCommit(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unwritableFolder(path, reason): return "cannot write to \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .cannotCommit(path, reason): return "cannot move the finished outputs into \(path): \(reason)"
        }
    }
}

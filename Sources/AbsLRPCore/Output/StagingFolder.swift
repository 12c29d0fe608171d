import Foundation

/// A hidden folder beside `target` where a run writes files before moving
/// them onto `target` (or into it): `<parent>/.<target name>.staging-<owner>-<8 hex>`
/// (a long name cut, ``HiddenName``),
/// with ``RunOwner/token`` as `<owner>`. The live run holds an exclusive
/// `flock` on the folder for as long as it exists.
///
/// A run killed before it could remove its folder leaves it behind;
/// ``removeStale(for:)`` (called by every new ``RunOutput``) removes such
/// folders, and only them: an entry beside `target` is removed only when
/// - its name is exactly this pattern for `target` (another output's
///   staging, an older version's `.<name>.staging-<uuid>` and anything else
///   are left alone),
/// - it is a real folder (not a symbolic link) owned by this user,
/// - its owner (from the name) is no longer running (``RunOwner/isRunning``:
///   this protects a live run between creating its folder and locking it),
/// - and its `flock` can be taken at once (this protects a live run whose
///   pid is not comparable here, e.g. in another pid namespace); the lock is
///   held while the folder is removed, so two cleaners never race.
/// Symbolic links inside are removed, never followed.
final class StagingFolder {
    /// The folder.
    let url: URL
    /// The open folder whose `flock` marks the run as alive (-1 once removed).
    private var lock: Int32

    /// Creates the folder for `target` and locks it.
    /// - Throws: ``OutputError/unwritableFolder(path:reason:)``.
    init(for target: URL) throws {
        let name = HiddenName.beside(target.lastPathComponent, suffix: "\(Self.kind)-\(RunOwner.current.token)-"
            + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8)))
        url = target.deletingLastPathComponent().appendingPathComponent(name)
        try RunOutput.prepareFolder(url)
        lock = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errorText()
            if lock >= 0 { close(lock) }
            try? FileManager.default.removeItem(at: url)
            throw OutputError.unwritableFolder(path: url.path, reason: "cannot lock: \(reason)")
        }
    }

    deinit { remove() }

    /// Removes the folder and everything in it, then releases the lock.
    func remove() {
        guard lock >= 0 else { return }
        try? FileManager.default.removeItem(at: url)
        close(lock)
        lock = -1
    }

    /// A staging folder left beside an output by a run that is no longer running.
    struct Stale: Equatable {
        /// The folder (already removed).
        var url: URL
        var owner: RunOwner
    }

    /// Removes the staging folders of `target` whose runs are no longer
    /// running (the rules above).
    /// - Returns: what was removed.
    static func removeStale(for target: URL) -> [Stale] {
        let parent = target.deletingLastPathComponent()
        let prefix = HiddenName.beside(target.lastPathComponent, suffix: "\(kind)-")
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return [] }
        var removed: [Stale] = []
        for entry in entries.sorted() where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            guard let dash = rest.lastIndex(of: "-"), rest[rest.index(after: dash)...].count == 8,
                  rest[rest.index(after: dash)...].allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
                  let owner = RunOwner(token: rest[..<dash]), !owner.isRunning else { continue }
            let url = parent.appendingPathComponent(entry)
            var status = stat()
            guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR, status.st_uid == geteuid() else {
                continue
            }
            let descriptor = open(url.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            guard (try? FileManager.default.removeItem(at: url)) != nil else { continue }
            removed.append(Stale(url: url, owner: owner))
        }
        return removed
    }

    private static let kind = "staging"
}

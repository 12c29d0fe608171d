import Foundation

/// A hidden folder beside `target` where a run writes files before moving
/// them onto `target` (or into it): `<parent>/.<target name>.staging-<owner>-<8 hex>`
/// (a long name cut, ``HiddenName``),
/// with ``RunOwner/token`` as `<owner>` (``AbandonedEntry/newTag()``). The
/// live run holds an exclusive `flock` on the folder for as long as it exists.
///
/// A run killed before it could remove its folder leaves it behind;
/// ``removeStale(for:)`` (called by every new ``RunOutput``) removes such
/// folders, and only them: an entry beside `target` is removed only when its
/// name is exactly this pattern for `target` (another output's staging, an
/// older version's `.<name>.staging-<uuid>` and anything else are left
/// alone) and it is an ``AbandonedEntry`` (a real folder of this user, its
/// owner gone, its lock free). Symbolic links inside are removed, never followed.
final class StagingFolder {
    /// The folder.
    let url: URL
    /// The open folder whose `flock` marks the run as alive (-1 once removed).
    private var lock: Int32

    /// Creates the folder for `target` and locks it.
    /// - Throws: ``OutputError/unwritableFolder(path:reason:)``.
    init(for target: URL) throws {
        let name = HiddenName.beside(target.lastPathComponent, suffix: "\(Self.kind)-\(AbandonedEntry.newTag())")
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

    /// Removes the staging folders of `target` whose runs are no longer
    /// running (the rules above).
    /// - Returns: what was removed.
    static func removeStale(for target: URL) -> [AbandonedEntry] {
        let parent = target.deletingLastPathComponent()
        let prefix = HiddenName.beside(target.lastPathComponent, suffix: "\(kind)-")
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return [] }
        return entries.sorted().compactMap { entry in
            guard entry.hasPrefix(prefix), let owner = AbandonedEntry.owner(ofTag: entry.dropFirst(prefix.count)) else {
                return nil
            }
            return AbandonedEntry.remove(parent.appendingPathComponent(entry), owner: owner, isFolder: true)
        }
    }

    private static let kind = "staging"
}

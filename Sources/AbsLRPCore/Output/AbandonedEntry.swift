import Foundation

/// A hidden file or folder that a run made for its own use (a
/// ``StagingFolder``, an ``AtomicFile`` temporary) and left behind when it
/// was killed (SIGKILL, power loss). Such an entry's name ends with its
/// owner's tag, `<RunOwner token>-<8 hex>`, and the live owner holds an
/// exclusive `flock` on it for as long as it exists.
///
/// An entry is abandoned, and removed, only when
/// - its tag is exactly the pattern (anything else is left alone),
/// - it is a real folder or a regular file, as expected (not a symbolic
///   link), owned by this user,
/// - its owner is no longer running (``RunOwner/isRunning``: this protects a
///   live run between creating the entry and locking it),
/// - and its `flock` can be taken at once (this protects a live run whose pid
///   is not comparable here, e.g. in another pid namespace); the lock is held
///   while it is removed, so two cleaners never race.
struct AbandonedEntry: Equatable {
    /// The entry (already removed).
    var url: URL
    var owner: RunOwner

    /// The tag a new entry of this process carries: `<token>-<8 hex>`.
    static func newTag() -> String {
        "\(RunOwner.current.token)-" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
    }

    /// The owner named by `tag`; nil unless `tag` is exactly `<token>-<8 lowercase hex>`.
    static func owner(ofTag tag: Substring) -> RunOwner? {
        guard let dash = tag.lastIndex(of: "-") else { return nil }
        let random = tag[tag.index(after: dash)...]
        guard random.count == 8, random.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return RunOwner(token: tag[..<dash])
    }

    /// Removes `url`, tagged by `owner`, when it is abandoned (the rules
    /// above); `isFolder` says whether a folder or a regular file is expected.
    /// - Returns: the entry removed, or nil when it was left alone.
    static func remove(_ url: URL, owner: RunOwner, isFolder: Bool) -> AbandonedEntry? {
        guard !owner.isRunning else { return nil }
        var status = stat()
        guard lstat(url.path, &status) == 0, status.st_mode & S_IFMT == (isFolder ? S_IFDIR : S_IFREG),
              status.st_uid == geteuid() else { return nil }
        let descriptor = open(url.path, (isFolder ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return nil }
        if isFolder {
            guard (try? FileManager.default.removeItem(at: url)) != nil else { return nil }
        } else {
            guard unlink(url.path) == 0 else { return nil }
        }
        return AbandonedEntry(url: url, owner: owner)
    }
}

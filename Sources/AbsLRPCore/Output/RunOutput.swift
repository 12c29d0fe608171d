import Foundation

/// The outputs of one run (`explain`, `evaluate`, `merge`, `check`), written
/// whole or not at all.
///
/// Every file of the run is written into a hidden staging folder beside the
/// output folder (a ``StagingFolder``: `<parent>/.<name>.staging-<pid>-<start>-<boot>-<8 hex>`,
/// locked by the live run) on the folder's own file system, so that the
/// final moves are renames (beside the folder a symbolic link points to;
/// inside a folder that is a mount point: ``stagingTarget(for:)``).
/// Only ``commit()``, called once the run has
/// succeeded, moves them into ``folder``: each file replaces a file of the
/// same name (a rerun replaces its own outputs) and leaves every other file
/// alone (a later run with other methods or targets adds its files beside
/// an earlier run's). A run that throws before ``commit()`` removes the
/// staging folder (``discard()``, also on deinit) and leaves ``folder`` as it
/// was. Files that belong to the run but live elsewhere (explain's
/// `--save-relevance FILE`) are staged beside their destination and moved by
/// the same ``commit()``.
///
///     let run = try RunOutput(folder: out)          // fails now if `out` is unwritable
///     try report.write(to: run.staging)              // or run.write(data, as: "index.html")
///     let files = try run.commit()                   // the final URLs, in ``folder``
///
/// Each rename is atomic; a process killed during ``commit()`` can leave part
/// of the new files moved, and a process killed before it leaves its hidden
/// staging folders behind. The next run for the same output folder (or the
/// same external file) removes those of runs that are no longer running, and
/// says so (``StagingFolder/removeStale(for:)``: a live run's are never touched),
/// and so are the temporary files of writes straight into ``folder`` (GAE's
/// journal) that were cut by a kill (``AtomicFile/removeStaleTemporaries(in:)``).
public final class RunOutput {
    /// The output folder (`--out`).
    public let folder: URL
    /// Where the run writes its files; their paths relative to it are their
    /// paths relative to ``folder`` after ``commit()``.
    public var staging: URL { stagingFolder.url }
    private let stagingFolder: StagingFolder
    /// Staged files of the run outside ``folder``: (staged, destination),
    /// each in a staging folder of its own beside its destination.
    private var external: [(staged: URL, destination: URL, folder: StagingFolder)] = []
    private var finished = false
    /// Hears the stale staging folders this run removes.
    private let notice: (String) -> Void

    /// Creates `folder` (and parents) and a fresh staging folder beside it,
    /// so that an unwritable destination fails in the first second, not after
    /// an hour. Stale staging folders of `folder` (left by killed runs) are
    /// removed first, each reported to `notice` (default: a line on stderr).
    /// - Throws: ``OutputError/unwritableFolder(path:reason:)``.
    public init(folder: URL, notice: @escaping (String) -> Void = RunOutput.standardErrorNotice) throws {
        self.folder = folder.standardizedFileURL
        self.notice = notice
        try Self.prepareFolder(self.folder)
        let stagingTarget = Self.stagingTarget(for: self.folder)
        Self.removeStaleStaging(for: stagingTarget, notice: notice)
        Self.removeStaleTemporaries(in: self.folder, notice: notice)
        stagingFolder = try StagingFolder(for: stagingTarget)
    }

    /// What the staging folder of `folder` is named after, so that it is on
    /// the folder's own file system (the final moves are renames): the folder
    /// with its symbolic links resolved (`--out` may link to another disk),
    /// or, when the folder is a mount point, a name inside it
    /// (`folder/.<name>.staging-...`).
    static func stagingTarget(for folder: URL) -> URL {
        let real = folder.resolvingSymlinksInPath()
        var inside = stat(), beside = stat()
        guard stat(real.path, &inside) == 0, stat(real.deletingLastPathComponent().path, &beside) == 0,
              inside.st_dev != beside.st_dev else { return real }
        return real.appendingPathComponent(real.lastPathComponent)
    }

    /// Writes `line` and a newline to standard error.
    public static func standardErrorNotice(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func removeStaleStaging(for target: URL, notice: (String) -> Void) {
        for stale in StagingFolder.removeStale(for: target) {
            notice("removed \(stale.url.path): the staging folder of run \(stale.owner.pid), which is no longer running "
                   + "(killed before it finished)")
        }
    }

    /// Removes the temporary files in `folder` of ``AtomicFile`` writes
    /// killed before they finished (files written straight into `--out`,
    /// such as GAE's journal, or beside an external destination).
    private static func removeStaleTemporaries(in folder: URL, notice: (String) -> Void) {
        for stale in AtomicFile.removeStaleTemporaries(in: folder) {
            notice("removed \(stale.url.path): a temporary file of run \(stale.owner.pid), which is no longer running "
                   + "(killed while writing it)")
        }
    }

    deinit { if !finished { discard() } }

    /// The staged location of the run's file `name` (a path relative to
    /// ``folder``, subfolders created).
    public func stagedURL(_ name: String) throws -> URL {
        let url = staging.appendingPathComponent(name)
        try Self.prepareFolder(url.deletingLastPathComponent())
        return url
    }

    /// Writes `data` as the run's file `name`.
    /// - Returns: where the file will be after ``commit()``.
    @discardableResult
    public func write(_ data: Data, as name: String) throws -> URL {
        try AtomicFile.write(data, to: try stagedURL(name))
        return folder.appendingPathComponent(name)
    }

    /// The staged location of a file of the run that goes to `destination`
    /// outside ``folder`` (its folder is created and checked now, and a
    /// folder at `destination` itself is refused now, not at ``commit()``).
    /// - Throws: ``OutputError``.
    public func stagedURL(external destination: URL) throws -> URL {
        let destination = destination.standardizedFileURL
        try Self.prepareFileDestination(destination)
        Self.removeStaleStaging(for: destination, notice: notice)
        Self.removeStaleTemporaries(in: destination.deletingLastPathComponent(), notice: notice)
        let folder = try StagingFolder(for: destination)
        let staged = folder.url.appendingPathComponent(destination.lastPathComponent)
        external.append((staged, destination, folder))
        return staged
    }

    /// Where a staged URL (from ``staging`` or ``stagedURL(external:)``)
    /// will be after ``commit()``.
    public func destination(of staged: URL) -> URL {
        if let entry = external.first(where: { $0.staged == staged }) { return entry.destination }
        let stagingPath = staging.standardizedFileURL.path, path = staged.standardizedFileURL.path
        guard path.hasPrefix(stagingPath + "/") else { return staged }
        return folder.appendingPathComponent(String(path.dropFirst(stagingPath.count + 1)))
    }

    /// Moves every staged file into place and removes the staging folder.
    /// - Returns: the final URLs of the files moved, sorted by path.
    /// - Throws: ``OutputError/cannotCommit(path:reason:)``.
    @discardableResult
    public func commit() throws -> [URL] {
        precondition(!finished, "RunOutput.commit() called twice or after discard()")
        var moved: [URL] = []
        for relative in try stagedFiles() {
            let target = folder.appendingPathComponent(relative)
            try Self.prepareFolder(target.deletingLastPathComponent())
            guard rename(staging.appendingPathComponent(relative).path, target.path) == 0 else {
                throw OutputError.cannotCommit(path: folder.path, reason: "\(relative): \(String(cString: strerror(errno)))")
            }
            moved.append(target)
        }
        for (staged, destination, _) in external where FileManager.default.fileExists(atPath: staged.path) {
            guard rename(staged.path, destination.path) == 0 else {
                throw OutputError.cannotCommit(path: destination.path, reason: String(cString: strerror(errno)))
            }
            moved.append(destination)
        }
        discard()
        return moved.sorted { $0.path < $1.path }
    }

    /// Removes the staging folder and the external staged files; ``folder``
    /// and every destination keep what they had.
    public func discard() {
        finished = true
        stagingFolder.remove()
        for entry in external { entry.folder.remove() }
    }

    /// The staged regular files, as paths relative to ``staging``, skipping
    /// temporary files of writes that did not finish.
    private func stagedFiles() throws -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: staging.path) else {
            throw OutputError.cannotCommit(path: folder.path, reason: "the staging folder \(staging.path) disappeared")
        }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            guard enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix("."), name.hasSuffix(".tmp") { continue }
            files.append(relative)
        }
        return files.sorted()
    }

    /// Prepares the folder of the file `url` (``prepareFolder(_:)``) and
    /// refuses a `url` that names a folder, which no rename can replace.
    /// - Throws: ``OutputError``.
    static func prepareFileDestination(_ url: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            throw OutputError.cannotWrite(path: url.path, reason: "it is a folder; name a file")
        }
        try prepareFolder(url.deletingLastPathComponent())
    }

    /// Creates `url` (and parents) and checks that files can be created in it.
    static func prepareFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw OutputError.unwritableFolder(path: url.path, reason: (error as NSError).localizedFailureReason
                                                ?? error.localizedDescription)
        }
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw OutputError.unwritableFolder(path: url.path, reason: "permission denied")
        }
    }
}

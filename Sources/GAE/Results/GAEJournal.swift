import AbsLRPCore
import Foundation

/// The resumable state of a GAE run: an append-only file in the output
/// folder with the run's ``GAERunFingerprint`` and every completed batch.
///
/// Format of `journal.gae`, one record per line:
///
///     <CRC-32 of the JSON bytes: 8 lowercase hex digits> <JSON of the record>\n
///
/// Line 1 is the fingerprint; each further line one batch (``Entry``: the
/// batch's record, its results, the run's seconds up to its end, the
/// pictures of its positives the run keeps for its best/worst figures), in the
/// shard's batch order. A batch is appended with one `write` and `fsync`ed
/// before the next batch starts, so a `kill -9`, a lost node or a preemption
/// at any moment loses at most the batch in progress.
///
/// On reading, a last line without its newline or whose checksum or JSON is
/// bad is a torn write: it is dropped and the file is cut back to the records
/// before it. A bad line before the last is corruption and is refused, and
/// ``GlobalAttributionEvaluation`` re-validates every entry against the run
/// (batch number, data-set indices, results per batch) before using it.
///
/// The journal is what a resumed run continues from; the results files are
/// still written whole at the end of the run.
public final class GAEJournal {
    /// The journal's file name inside a run's output folder.
    public static let fileName = "journal.gae"

    /// How a run uses its journal.
    public enum Use: Equatable, Sendable {
        /// A new journal at this path, replacing any earlier one.
        case start(URL)
        /// Continue the journal at this path if it exists (refusing one made
        /// with another fingerprint); start a new one if it does not.
        case resume(URL)
    }

    /// One completed batch.
    public struct Entry: Codable, Equatable, Sendable {
        public var batch: GAEBatchRecord
        /// The batch's results, mosaic after mosaic, methods in the run's order.
        public var results: [GAEImageResult]
        /// The run's evaluation seconds from its start to the end of this batch
        /// (summed over interrupted processes).
        public var seconds: Double
        /// The pictures of this batch's positives that the run keeps for its
        /// best/worst figures after this batch (``ExtremeMaps``).
        public var pictures: [ExtremeMaps.Picture]

        public init(batch: GAEBatchRecord, results: [GAEImageResult], seconds: Double,
                    pictures: [ExtremeMaps.Picture] = []) {
            self.batch = batch
            self.results = results
            self.seconds = seconds
            self.pictures = pictures
        }

        enum CodingKeys: String, CodingKey { case batch, results, seconds, pictures }

        /// `pictures` may be missing (journals of runs that kept none); they
        /// are not decoded when the decoder's ``skipsPictures`` is true.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let skips = decoder.userInfo[Entry.skipsPictures] as? Bool == true
            self.init(batch: try c.decode(GAEBatchRecord.self, forKey: .batch),
                      results: try c.decode([GAEImageResult].self, forKey: .results),
                      seconds: try c.decode(Double.self, forKey: .seconds),
                      pictures: skips ? [] : try c.decodeIfPresent([ExtremeMaps.Picture].self, forKey: .pictures) ?? [])
        }

        /// The decoder option that leaves `pictures` empty.
        static let skipsPictures = CodingUserInfoKey(rawValue: "skipsPictures")!

        /// The entry without its pictures.
        var withoutPictures: Entry { Entry(batch: batch, results: results, seconds: seconds) }
    }

    /// The batches recorded so far, in order, without their pictures: the
    /// file holds them (a record per batch, so together they grow with the
    /// run); ``recordedPictures(of:)`` reads back the few a resumed run needs.
    public private(set) var entries: [Entry]
    private let file: AppendOnlyFile

    /// The journal's path.
    public var url: URL { file.url }

    private init(file: AppendOnlyFile, entries: [Entry]) {
        self.file = file
        self.entries = entries
    }

    /// Opens the journal for a run with `fingerprint` as `use` says.
    ///
    /// - Throws: ``GAEError/journalMismatch(path:differences:)`` when resuming
    ///   a journal of another run, ``GAEError/corruptJournal(path:reason:)``
    ///   for a damaged one, `OutputError.cannotWrite` when it cannot be written.
    public static func open(_ use: Use, fingerprint: GAERunFingerprint) throws -> GAEJournal {
        switch use {
        case .start(let url):
            return try create(url, fingerprint: fingerprint)
        case .resume(let url):
            guard FileManager.default.fileExists(atPath: url.path) else { return try create(url, fingerprint: fingerprint) }
            let contents = try read(url, pictures: false)
            guard let stored = contents.fingerprint else {
                // Torn before its first record was complete: nothing was done yet.
                return try create(url, fingerprint: fingerprint)
            }
            let differences = stored.differences(from: fingerprint)
            guard differences.isEmpty else { throw GAEError.journalMismatch(path: url.path, differences: differences) }
            let file = try AppendOnlyFile(url: url)
            try file.truncate(to: contents.completeLength)  // drops a torn last record
            return GAEJournal(file: file, entries: contents.entries)
        }
    }

    /// Appends `entry` and flushes it to disk before returning.
    /// A failed write is cut off again, so the journal stays a sequence of
    /// complete records.
    public func append(_ entry: Entry) throws {
        try file.append(try Self.line(entry))
        entries.append(entry.withoutPictures)
    }

    /// The pictures of `results` (kept ones of a resumed run) that the
    /// batches' records hold, read back one record at a time, decoding only
    /// the records of those batches.
    /// - Throws: ``GAEError/corruptJournal(path:reason:)`` for an unreadable file.
    public func recordedPictures(of results: [GAEImageResult]) throws -> [ExtremeMaps.Picture] {
        let wanted = Set(results.map { "\($0.method) \($0.index)" }), batches = Set(results.map(\.batch))
        var pictures: [ExtremeMaps.Picture] = []
        _ = try Self.read(url, pictures: true) { batches.contains($0.batch.batch) } each: { entry in
            pictures += entry.pictures.filter { wanted.contains("\($0.method) \($0.index)") }
        }
        return pictures
    }

    /// The complete records of the journal at `url`.
    ///
    /// - Parameter pictures: whether the entries keep their pictures (the
    ///   whole run's, so memory grows with the file), or leave them empty.
    /// - Returns: the fingerprint (nil if not even the first record is
    ///   complete), the batch entries, and the byte length of the complete
    ///   records (where a torn last record begins).
    /// - Throws: ``GAEError/corruptJournal(path:reason:)`` for an unreadable
    ///   file or a bad record that is not the last.
    public static func read(_ url: URL, pictures: Bool = true) throws
        -> (fingerprint: GAERunFingerprint?, entries: [Entry], completeLength: Int) {
        var entries: [Entry] = []
        let (fingerprint, length) = try read(url, pictures: pictures) { _ in true } each: { entries.append($0) }
        return (fingerprint, entries, length)
    }

    /// Reads the journal at `url` record by record (``JournalLines``: in
    /// blocks, so the file is never held whole in memory, and never mapped,
    /// so one cut by another process meanwhile is an error, not a fault),
    /// handing `each` the batch entries whose skeleton (decoded without
    /// pictures) `decodesWhole` accepts, decoded with their pictures when
    /// `pictures` is true.
    /// - Returns: the fingerprint and the byte length of the complete records.
    /// - Throws: ``GAEError/corruptJournal(path:reason:)`` also when the file
    ///   changed size while it was read (another process writing it).
    static func read(_ url: URL, pictures: Bool, decodesWhole: (Entry) -> Bool,
                     each: (Entry) -> Void) throws -> (fingerprint: GAERunFingerprint?, completeLength: Int) {
        func unreadable(_ error: Error) -> GAEError { GAEError.corruptJournal(path: url.path, reason: "\(error)") }
        var lines: JournalLines
        do { lines = JournalLines(try InputFileReader(url)) } catch { throw unreadable(error) }
        let skeletons = JSONDecoder()
        skeletons.userInfo[Entry.skipsPictures] = true
        func entry(_ json: Data) throws -> Entry {
            let skeleton = try skeletons.decode(Entry.self, from: json)
            return pictures && decodesWhole(skeleton) ? try JSONDecoder().decode(Entry.self, from: json) : skeleton
        }
        var fingerprint: GAERunFingerprint?, completeLength = 0, number = 0
        while true {
            number += 1
            let next: (line: Data, end: Int)?
            do { next = try lines.next() } catch { throw unreadable(error) }
            guard let (record, end) = next else { break }  // torn: no newline
            let isLast = end == lines.size
            do {
                let json = try payload(of: record)
                if number == 1 {
                    fingerprint = try JSONDecoder().decode(GAERunFingerprint.self, from: json)
                } else {
                    each(try entry(json))
                }
            } catch let bad as BadRecord {
                if isLast { break }
                throw GAEError.corruptJournal(path: url.path, reason: "record \(number): \(bad.reason)")
            } catch {
                if isLast { break }
                throw GAEError.corruptJournal(path: url.path, reason: "record \(number) is not a \(number == 1 ? "fingerprint" : "batch"): \(error)")
            }
            completeLength = end
        }
        do { try lines.file.requireUnchangedSize() } catch { throw unreadable(error) }
        return (fingerprint, completeLength)
    }

    /// Writes a new journal holding only `fingerprint` (whole, through a
    /// temporary file) and opens it for appending.
    private static func create(_ url: URL, fingerprint: GAERunFingerprint) throws -> GAEJournal {
        try AtomicFile.write(try line(fingerprint), to: url)
        return GAEJournal(file: try AppendOnlyFile(url: url), entries: [])
    }

    /// A record's line: checksum, space, JSON, newline.
    private static func line<T: Encodable>(_ record: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(record)
        return Data((String(format: "%08x", CRC32.of(json)) + " ").utf8) + json + Data("\n".utf8)
    }

    /// The JSON of a record line (without its newline) whose checksum holds.
    /// - Throws: ``BadRecord``.
    private static func payload(of record: Data) throws -> Data {
        let prefix = 9  // 8 hex digits and a space
        guard record.count > prefix, record[record.startIndex + 8] == UInt8(ascii: " "),
              let stored = UInt32(String(decoding: record.prefix(8), as: UTF8.self), radix: 16) else {
            throw BadRecord(reason: "no checksum")
        }
        let json = record.dropFirst(prefix)
        guard CRC32.of(json) == stored else { throw BadRecord(reason: "checksum mismatch") }
        return Data(json)
    }
}

/// The lines of a journal, read in blocks of 64 KB: at most one record and
/// one block are held at once.
private struct JournalLines {
    let file: InputFileReader
    /// The file's bytes from the start of the next line up to `readEnd`.
    private var pending = Data()
    private var readEnd = 0
    private static let block = 1 << 16

    init(_ file: InputFileReader) { self.file = file }

    /// The file's length when it was opened.
    var size: Int { file.size }

    /// The next line without its newline, and the file offset after its
    /// newline; nil when no newline follows (the file ends, or ends in a
    /// line without one).
    /// - Throws: ``InputFileError`` when the file cannot be read or was cut.
    mutating func next() throws -> (line: Data, end: Int)? {
        var searched = 0
        while true {
            if let newline = pending[(pending.startIndex + searched)...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(pending[pending.startIndex..<newline])
                pending = Data(pending[(newline + 1)...])
                return (line, readEnd - pending.count)
            }
            guard readEnd < file.size else { return nil }
            searched = pending.count
            let count = min(Self.block, file.size - readEnd)
            pending += try file.bytes(readEnd..<(readEnd + count))
            readEnd += count
        }
    }
}

/// Why a journal line is not a complete record.
private struct BadRecord: Error {
    let reason: String
}

import Foundation

/// Where a run stands, after each batch.
public struct GAEProgress: Equatable, Sendable {
    /// Data-set images evaluated so far in this run (or shard), and in all.
    public var imagesDone: Int
    public var imagesTotal: Int
    /// Seconds since the run started.
    public var elapsed: Double

    public init(imagesDone: Int, imagesTotal: Int, elapsed: Double) {
        self.imagesDone = imagesDone
        self.imagesTotal = imagesTotal
        self.elapsed = elapsed
    }

    /// Images per second so far (0 before the first batch).
    public var rate: Double { elapsed > 0 ? Double(imagesDone) / elapsed : 0 }

    /// Estimated seconds left at the current rate (nil before the first batch).
    public var remaining: Double? { rate > 0 ? Double(imagesTotal - imagesDone) / rate : nil }
}

/// Receives progress from a run. The library reports nothing unless given one.
public protocol ProgressReporter: AnyObject {
    /// Called once before the first batch (with 0 done) and after every batch.
    func report(_ progress: GAEProgress)
}

/// Progress on standard error, for command-line tools: on a terminal one
/// line rewritten in place (at most every `refresh` seconds, and at the
/// end); otherwise (a log file, a batch system) a plain line every
/// `interval` seconds and at the end, e.g.
///
///     gae: 96/256 images (37.5%), 3.2 images/s, 50s left
public final class StandardErrorProgressReporter: ProgressReporter {
    private let isTerminal: Bool
    private let interval: Double
    private let write: (String) -> Void
    private var lastWrite: Double?

    /// - Parameters:
    ///   - isTerminal: whether to rewrite one line; by default whether stderr is a terminal.
    ///   - interval: seconds between lines when not on a terminal.
    ///   - write: where text goes (standard error by default).
    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0, interval: Double = 30,
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTerminal = isTerminal
        self.interval = interval
        self.write = write
    }

    public func report(_ progress: GAEProgress) {
        let finished = progress.imagesDone >= progress.imagesTotal
        let gap = isTerminal ? 0.2 : interval
        if let last = lastWrite, !finished, progress.elapsed - last < gap { return }
        lastWrite = progress.elapsed
        let line = Self.line(progress)
        if isTerminal {
            write("\r\u{1B}[K" + line + (finished ? "\n" : ""))
        } else {
            write(line + "\n")
        }
    }

    /// The text of one progress line.
    static func line(_ p: GAEProgress) -> String {
        let percent = p.imagesTotal > 0 ? 100 * Double(p.imagesDone) / Double(p.imagesTotal) : 100
        var text = "gae: \(p.imagesDone)/\(p.imagesTotal) images (\(String(format: "%.1f", percent))%)"
        if p.rate > 0 { text += ", \(String(format: "%.2f", p.rate)) images/s" }
        if p.imagesDone >= p.imagesTotal {
            text += ", done in \(duration(p.elapsed))"
        } else if let left = p.remaining {
            text += ", \(duration(left)) left"
        }
        return text
    }

    /// `42s`, `3m07s`, `2h05m`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}

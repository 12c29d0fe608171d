import Foundation

/// The process that owns a run's staging files, as written into their names
/// (``token``: `<pid>-<start>-<boot>`), so that a later run can tell a staging
/// folder of a live run from one left by a run that was killed (SIGKILL,
/// power loss) before it could clean up.
///
/// A pid alone is not enough (pids are reused), so the token also holds the
/// process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since
/// boot) and the first 12 hex digits of the kernel's boot id
/// (`/proc/sys/kernel/random/boot_id`). Without `/proc` both are 0 and only
/// the pid is checked (`kill(pid, 0)`).
public struct RunOwner: Equatable, Sendable {
    public var pid: Int32
    /// Clock ticks since boot at which the process started (0: unknown).
    public var startTime: UInt64
    /// The boot the process ran in (12 lowercase hex digits, "0": unknown).
    public var boot: String

    /// This process.
    public static let current = RunOwner(pid: getpid(), startTime: startTime(of: getpid()) ?? 0,
                                         boot: currentBoot())

    public init(pid: Int32, startTime: UInt64, boot: String) {
        self.pid = pid; self.startTime = startTime; self.boot = boot
    }

    /// `<pid>-<start>-<boot>`: digits, digits, hex digits.
    public var token: String { "\(pid)-\(startTime)-\(boot)" }

    /// Reads a ``token``; nil unless it is exactly one.
    public init?(token: Substring) {
        let parts = token.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].allSatisfy(\.isASCIIDigit), parts[1].allSatisfy(\.isASCIIDigit),
              parts[2].allSatisfy(\.isLowercaseHexDigit), !parts[2].isEmpty, parts[2].count <= 12,
              let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTime: start, boot: String(parts[2]))
    }

    /// Whether the process is still running: same boot, the pid exists and
    /// (when known) started at the same time. A process of another boot is
    /// never running.
    public var isRunning: Bool {
        guard boot == Self.current.boot else { return false }
        if let start = Self.startTime(of: pid) { return startTime == 0 || start == startTime }
        // No /proc entry: on Linux the process is gone; elsewhere ask the kernel.
        if FileManager.default.fileExists(atPath: "/proc/self/stat") { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Field 22 (`starttime`) of `/proc/<pid>/stat`, read after the command
    /// name's closing parenthesis (the name itself may hold spaces and
    /// parentheses).
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After ")": field 3 (state) is the first; starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    private static func currentBoot() -> String {
        guard let id = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return "0" }
        let hex = id.lowercased().filter(\.isLowercaseHexDigit)
        return hex.isEmpty ? "0" : String(hex.prefix(12))
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isLowercaseHexDigit: Bool { isASCIIDigit || ("a"..."f").contains(self) }
}

/// The name of a hidden file or folder beside `name` that the output code
/// makes for its own use (``AtomicFile``'s temporary file, a
/// ``StagingFolder``): `.<name>.<suffix>`, with `name` cut to its first
/// ``maximumNameBytes`` bytes of UTF-8 (whole characters), so that any name
/// a file system takes (255 bytes) still leaves room for the suffix.
enum HiddenName {
    /// Leaves 73 bytes for the suffix: a temporary's (`<pid>-<start>-<boot>-<8 hex>.tmp`,
    /// at most 58) or a staging folder's (`staging-<pid>-<start>-<boot>-<8 hex>`, at most 62).
    static let maximumNameBytes = 180

    static func beside(_ name: String, suffix: String) -> String {
        var cut = "", bytes = 0
        for character in name {
            bytes += character.utf8.count
            guard bytes <= maximumNameBytes else { break }
            cut.append(character)
        }
        return ".\(cut).\(suffix)"
    }
}

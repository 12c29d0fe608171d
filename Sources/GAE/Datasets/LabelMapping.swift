import AbsLRPCore
import Foundation

/// How the class folders of an ImageFolder became labels, written into
/// `results.json` so that a score can be traced to the classes it used.
///
/// In order of preference:
/// 1. `classNames`: every folder name is one of the model's class names,
///    compared ignoring case, spaces and punctuation (``normalized(_:)``:
///    the folder `T-shirt_top` is the class `T-shirt/top`);
/// 2. `integers`: every folder name is a non-negative integer, the label itself;
/// 3. `sorted`: torchvision's `ImageFolder` order (code-point order of the names).
public struct LabelMapping: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case classNames = "class_names", integers, sorted
    }

    public var kind: Kind
    /// Folder name -> label.
    public var labels: [String: Int]
    /// Folders that matched no class name when others did (then `sorted` is used).
    public var unmatched: [String]?

    /// The mapping of `folders` (code-point sorted) for a model with `classNames`.
    public init(folders: [String], classNames: [String]?) {
        if let classNames {
            var index: [String: Int] = [:]
            for (i, name) in classNames.enumerated() where index[Self.normalized(name)] == nil { index[Self.normalized(name)] = i }
            let matched = folders.map { index[Self.normalized($0)] }
            if matched.allSatisfy({ $0 != nil }), Set(matched).count == folders.count {
                self.init(kind: .classNames, labels: Dictionary(uniqueKeysWithValues: zip(folders, matched.map { $0! })))
                return
            }
            if matched.contains(where: { $0 != nil }) {
                let unmatched = zip(folders, matched).filter { $0.1 == nil }.map(\.0)
                self.init(kind: .sorted, labels: Self.sortedLabels(folders), unmatched: unmatched)
                return
            }
        }
        let integers = folders.map { name in Int(name).flatMap { $0 >= 0 && String($0) == name ? $0 : nil } }
        if integers.allSatisfy({ $0 != nil }) {
            self.init(kind: .integers, labels: Dictionary(uniqueKeysWithValues: zip(folders, integers.map { $0! })))
            return
        }
        self.init(kind: .sorted, labels: Self.sortedLabels(folders))
    }

    public init(kind: Kind, labels: [String: Int], unmatched: [String]? = nil) {
        self.kind = kind
        self.labels = labels
        self.unmatched = unmatched
    }

    private static func sortedLabels(_ folders: [String]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: folders.enumerated().map { ($1, $0) })
    }

    /// ``ModelConfiguration/comparableClassName(_:)``: `"T-shirt/top"` and `"t shirt_top"` are both `"tshirttop"`.
    public static func normalized(_ name: String) -> String { ModelConfiguration.comparableClassName(name) }

    /// One line per folder, by label: `label <- folder (class name)`.
    public func lines(classNames: [String]?) -> [String] {
        labels.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map { folder, label in
            let name = classNames.flatMap { label < $0.count ? $0[label] : nil }
            return "  \(label) <- \(folder)" + (name.map { $0 == folder ? "" : " (\($0))" } ?? "")
        }
    }
}

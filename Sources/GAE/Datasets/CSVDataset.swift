import AbsLRPCore
import Foundation

/// A CSV list of `path,label` rows. Paths are relative to the CSV file's
/// folder (absolute paths are kept); a label is a class index (a
/// non-negative integer) or one of the model's class names, compared as
/// ``LabelMapping/normalized(_:)`` does. A first row whose label is neither
/// (such as `path,label`) is a header and skipped;
/// fields may be quoted (`"a, b.png",3`, `""` for a quote); blank lines are
/// ignored; an empty path or one with a NUL character is an error. Images are
/// decoded and preprocessed like ``ImageFolderDataset``'s (a missing file, a
/// folder, a symbolic-link loop, a FIFO or a device is an error naming it).
public struct CSVDataset: GAEDataset {
    public let csv: URL
    public let items: [(url: URL, label: Int)]
    public let preprocessing: PreprocessingConfig

    public var name: String { csv.path }
    public var count: Int { items.count }

    /// Reads the list (not the images).
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` naming the bad line.
    /// - Parameter classNames: the model's class names, for labels given by name.
    public init(csv: URL, preprocessing: PreprocessingConfig, classNames: [String]? = nil) throws {
        self.csv = csv
        self.preprocessing = preprocessing
        let data: Data
        do { data = try InputFile.contents(of: csv) } catch {
            throw GAEError.invalidDataset(path: csv.path, reason: "cannot read it: \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GAEError.invalidDataset(path: csv.path, reason: "it is not UTF-8 text")
        }
        let folder = csv.deletingLastPathComponent()
        var byName: [String: Int] = [:]
        for (i, name) in (classNames ?? []).enumerated() where byName[LabelMapping.normalized(name)] == nil {
            byName[LabelMapping.normalized(name)] = i
        }
        var items: [(URL, Int)] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let fields = try Self.fields(of: String(line), csv: csv, line: number + 1)
            guard fields.count == 2 else {
                throw GAEError.invalidDataset(path: csv.path, reason: "line \(number + 1): expected 2 fields path,label, got \(fields.count)")
            }
            let text = fields[1].trimmingCharacters(in: .whitespaces)
            guard let label = Int(text).flatMap({ $0 >= 0 ? $0 : nil }) ?? byName[LabelMapping.normalized(text)] else {
                if items.isEmpty && number == 0 && Int(text) == nil { continue }  // header
                let names = classNames.map { " or one of the model's class names (\($0.prefix(5).joined(separator: ", "))\($0.count > 5 ? ", ..." : ""))" }
                throw GAEError.invalidDataset(
                    path: csv.path, reason: "line \(number + 1): label '\(fields[1])' must be a class index (an integer >= 0)\(names ?? "")")
            }
            let path = fields[0]
            guard !path.trimmingCharacters(in: .whitespaces).isEmpty, !path.contains("\0") else {
                throw GAEError.invalidDataset(path: csv.path, reason: "line \(number + 1): the path is "
                                              + (path.contains("\0") ? "cut by a NUL character" : "empty"))
            }
            items.append((path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path), label))
        }
        guard !items.isEmpty else { throw GAEError.invalidDataset(path: csv.path, reason: "no path,label rows") }
        self.items = items
    }

    public func image(at index: Int) throws -> (image: Tensor, label: Int) {
        (try preprocessedImage(items[index].url, preprocessing), items[index].label)
    }

    public func itemName(at index: Int) -> String { items[index].url.path }

    /// The fields of one line, RFC 4180 quoting.
    private static func fields(of line: String, csv: URL, line number: Int) throws -> [String] {
        var fields: [String] = [], current = "", quoted = false, afterQuote = false
        var characters = line.makeIterator()
        while let c = characters.next() {
            if quoted {
                if c == "\"" { quoted = false; afterQuote = true } else { current.append(c) }
            } else if c == "\"" {
                if afterQuote { current.append("\"") }  // "" inside a quoted field
                quoted = true
                afterQuote = false
            } else if c == "," {
                fields.append(current); current = ""; afterQuote = false
            } else {
                current.append(c); afterQuote = false
            }
        }
        guard !quoted else { throw GAEError.invalidDataset(path: csv.path, reason: "line \(number): unterminated quote") }
        fields.append(current)
        return fields
    }
}

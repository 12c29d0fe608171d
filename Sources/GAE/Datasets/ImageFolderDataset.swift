import AbsLRPCore
import Foundation

/// A folder in torchvision's `ImageFolder` layout: one subfolder per class,
/// `root/<class>/**/<image>`.
///
/// As torchvision lists it: the classes are the subfolder names sorted by
/// code point; their labels follow ``LabelMapping`` (the model's class names
/// when every folder names one, integers when every folder is one, else
/// class `i` is the `i`-th folder as torchvision); within a class, folders are walked
/// recursively (symbolic links followed), visited in code-point order of
/// their paths, and each folder's files in code-point order of their names;
/// a file counts when its name ends, in any case, with one of
/// ``imageExtensions``. Hidden entries are not skipped (torchvision does not).
/// Images are decoded (PNG and JPEG; other formats fail when read, naming
/// the file) and preprocessed with `preprocessing`.
public struct ImageFolderDataset: GAEDataset {
    /// torchvision's `IMG_EXTENSIONS`.
    public static let imageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    public let root: URL
    /// The class folders' names, code-point sorted.
    public let classes: [String]
    /// Folder name -> label.
    public let mapping: LabelMapping
    /// Every image with its label, in data-set order.
    public let items: [(url: URL, label: Int)]
    public let preprocessing: PreprocessingConfig

    public var name: String { root.path }
    public var count: Int { items.count }

    /// Lists the images under `root`.
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` when `root` is not a
    ///   folder, has no class subfolders, or a class has no image (as torchvision).
    /// - Parameter classNames: the model's class names, matched against the folders.
    public init(root: URL, preprocessing: PreprocessingConfig, classNames: [String]? = nil) throws {
        self.root = root
        self.preprocessing = preprocessing
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw GAEError.invalidDataset(path: root.path, reason: "not a folder")
        }
        let entries = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        classes = entries.filter { Self.isFolder(root.appendingPathComponent($0)) }.sorted(by: Self.codePointOrder)
        guard !classes.isEmpty else {
            throw GAEError.invalidDataset(path: root.path, reason: "no class subfolders (expected root/<class>/<image>)")
        }
        mapping = LabelMapping(folders: classes, classNames: classNames)
        var items: [(URL, Int)] = []
        var empty: [String] = []
        for name in classes {
            let files = Self.imageFiles(under: root.appendingPathComponent(name))
            if files.isEmpty { empty.append(name) }
            items += files.map { [mapping] in ($0, mapping.labels[name]!) }
        }
        guard empty.isEmpty else {
            throw GAEError.invalidDataset(
                path: root.path, reason: "no image file for class\(empty.count == 1 ? "" : "es") \(empty.joined(separator: ", ")) "
                    + "(extensions \(Self.imageExtensions.joined(separator: " ")))")
        }
        self.items = items
    }

    public func image(at index: Int) throws -> (image: Tensor, label: Int) {
        (try preprocessedImage(items[index].url, preprocessing), items[index].label)
    }

    public func itemName(at index: Int) -> String { items[index].url.path }

    public var labelMapping: LabelMapping? { mapping }

    /// Image files below `folder`, in `sorted(os.walk(folder))` order.
    private static func imageFiles(under folder: URL) -> [URL] {
        var folders: [URL] = []
        var pending = [folder]
        var visited = Set<String>()
        while let next = pending.popLast() {
            let real = next.resolvingSymlinksInPath().path
            guard visited.insert(real).inserted else { continue }
            folders.append(next)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: next.path)) ?? []
            pending += names.map { next.appendingPathComponent($0) }.filter(isFolder)
        }
        return folders.sorted { codePointOrder($0.path, $1.path) }.flatMap { f -> [URL] in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: f.path)) ?? []
            return names.sorted(by: codePointOrder).map { f.appendingPathComponent($0) }
                .filter { url in !isFolder(url) && hasImageExtension(url.lastPathComponent) }
        }
    }

    static func hasImageExtension(_ name: String) -> Bool {
        let lower = name.lowercased()
        return imageExtensions.contains { lower.hasSuffix($0) }
    }

    private static func isFolder(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }

    /// Python's string order: lexicographic by Unicode code point.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }
}

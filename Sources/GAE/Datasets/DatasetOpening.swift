import AbsLRPCore
import Foundation

/// Opens a data set from one path, by what the path is:
///
/// | path | data set |
/// |---|---|
/// | `fashion-mnist-test`, `fashion-mnist-train` | Debian's `dataset-fashion-mnist` IDX files |
/// | a folder | ``ImageFolderDataset`` (labels by ``LabelMapping``) |
/// | `*.csv` | ``CSVDataset`` (`path,label` rows, label an index or a class name) |
/// | `*.safetensors` | ``SafetensorsDataset`` (`input` (N,C,H,W), `label` (N)) |
/// | `*images-idx3-ubyte[.gz]` | ``IDXDataset``, labels from the matching `labels-idx1-ubyte` file |
public enum GAEDatasets {
    /// Where Debian's `dataset-fashion-mnist` installs the IDX files.
    public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// `preprocessing` is evaluated only for data sets of images (not for safetensors inputs).
    /// `classNames` (the model's) label ImageFolder folders and CSV rows by name.
    public static func open(_ path: String, preprocessing: @autoclosure () throws -> PreprocessingConfig,
                            classNames: [String]? = nil) throws -> GAEDataset {
        switch path {
        case "fashion-mnist-test", "fashion-mnist-train":
            let split = path.hasSuffix("test") ? "t10k" : "train"
            return try IDXDataset(images: fashionMNISTDirectory.appendingPathComponent("\(split)-images-idx3-ubyte.gz"),
                                  labels: fashionMNISTDirectory.appendingPathComponent("\(split)-labels-idx1-ubyte.gz"),
                                  preprocessing: try preprocessing())
        default: break
        }
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw GAEError.invalidDataset(path: path, reason: "no such file or folder")
        }
        if isDirectory.boolValue { return try ImageFolderDataset(root: url, preprocessing: try preprocessing(), classNames: classNames) }
        do { try InputFile.requireRegularFile(url) } catch { throw GAEError.invalidDataset(path: path, reason: "\(error)") }
        let name = url.lastPathComponent
        if name.hasSuffix(".csv") { return try CSVDataset(csv: url, preprocessing: try preprocessing(), classNames: classNames) }
        if name.hasSuffix(".safetensors") { return try SafetensorsDataset(url: url) }
        if name.contains("images-idx3-ubyte") {
            let labels = url.deletingLastPathComponent()
                .appendingPathComponent(name.replacingOccurrences(of: "images-idx3-ubyte", with: "labels-idx1-ubyte"))
            return try IDXDataset(images: url, labels: labels, preprocessing: try preprocessing())
        }
        throw GAEError.invalidDataset(
            path: path, reason: "not a folder, .csv, .safetensors or *images-idx3-ubyte[.gz] file "
                + "(or fashion-mnist-test / fashion-mnist-train)")
    }
}

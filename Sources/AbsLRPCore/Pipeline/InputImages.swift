import Foundation

/// Image files named on a command line: files as given, folders expanded to
/// the images inside them (sorted, not recursive).
public enum InputImages {
    /// File extensions treated as images when a folder is expanded.
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Expands `paths` into image files; a path that does not exist, or a
    /// folder without image files, is an error.
    public static func collect(_ paths: [String]) throws -> [URL] {
        let fm = FileManager.default
        var files: [URL] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw ImageDecodeError.fileNotFound(path: path) }
            let url = URL(fileURLWithPath: path)
            if isDir.boolValue {
                let names = try fm.contentsOfDirectory(atPath: path).sorted()
                    .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                guard !names.isEmpty else { throw ExplainJobError.noImagesInFolder(path) }
                files += names.map { url.appendingPathComponent($0) }
            } else {
                files.append(url)
            }
        }
        return files
    }

    /// Decodes and preprocesses images into one batch (N, C, H, W).
    public static func load(_ urls: [URL], preprocessing: PreprocessingConfig,
                            maxPixels: Int = RGBImage.defaultMaxPixels) throws -> Tensor {
        Tensor.stack(try urls.map {
            try preprocessing.preprocessed(RGBImage.decode(contentsOf: $0, maxPixels: maxPixels), maxPixels: maxPixels,
                                           source: $0.path)
        })
    }
}

extension Tensor {
    /// Stacks equally shaped tensors along a new leading axis.
    public static func stack(_ items: [Tensor]) -> Tensor {
        precondition(!items.isEmpty, "nothing to stack")
        return concatenateBatch(items.map { $0.reshaped([1] + $0.shape) })
    }
}

/// The most probable classes of one image.
public struct Prediction: Equatable, Sendable {
    public var classIndex: Int
    public var label: String
    public var probability: Float
}

extension Classifier {
    /// The `k` most probable classes of each row of `logits` (softmax), best first.
    public func topPredictions(_ logits: Tensor, k: Int = 5) -> [[Prediction]] {
        let classes = logits.shape[1]
        return (0..<logits.shape[0]).map { b in
            let row = Array(logits.storage[(b * classes)..<((b + 1) * classes)])
            let m = row.max() ?? 0
            let e = row.map { exp(Double($0 - m)) }
            let z = e.reduce(0, +)
            return row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k).map {
                Prediction(classIndex: $0, label: configuration.labelName($0), probability: Float(e[$0] / z))
            }
        }
    }
}

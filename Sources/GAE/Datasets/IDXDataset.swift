import AbsLRPCore
import Foundation

/// MNIST-style IDX files (MNIST, Fashion-MNIST), gzipped or not: an image
/// file (magic `0x00000803`: unsigned bytes, 3 dimensions N, H, W, big-endian
/// sizes) and a label file (magic `0x00000801`: N unsigned bytes).
///
/// Item `i` is image `i` as `byte / 255`, (1, H, W), resized (antialiased
/// bilinear) to the model's input size only if that differs, repeated into
/// three channels for an RGB model (as Pillow's `convert('RGB')` of a grey
/// image), then normalised with the preprocessing's mean and std. No crop.
///
/// Both files are checked against their headers before anything is
/// allocated: the sizes are positive, `16 + N * H * W` (and `8 + N`) is
/// computed without overflow and equals the file's length exactly (a file
/// longer than its header says is as wrong as a short one).
public struct IDXDataset: GAEDataset {
    public let imagesURL: URL
    public let labelsURL: URL
    /// Image height and width in the file.
    public let height: Int
    public let width: Int
    public let labels: [Int]
    public let preprocessing: PreprocessingConfig
    /// All images' bytes, image after image, row-major.
    private let pixels: [UInt8]

    public var name: String { imagesURL.path }
    public var count: Int { labels.count }

    /// Reads both files.
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` for a missing,
    ///   damaged or wrong-kind file, or counts that disagree.
    public init(images: URL, labels: URL, preprocessing: PreprocessingConfig) throws {
        imagesURL = images
        labelsURL = labels
        self.preprocessing = preprocessing
        let imageBytes = try GzipReader.read(images), labelBytes = try GzipReader.read(labels)
        let imageHeader = try Self.header(imageBytes, magic: 0x0803, dimensions: 3, url: images)
        let labelHeader = try Self.header(labelBytes, magic: 0x0801, dimensions: 1, url: labels)
        let (n, h, w) = (imageHeader[0], imageHeader[1], imageHeader[2])
        guard n > 0, h > 0, w > 0 else {
            throw GAEError.invalidDataset(path: images.path, reason: "the header declares \(n) images of \(h)x\(w) pixels; "
                                          + "need at least one image of at least 1x1")
        }
        try Self.checkLength(imageBytes.count, header: 16, extents: [n, h, w],
                             what: "\(n) images of \(h)x\(w)", url: images)
        try Self.checkLength(labelBytes.count, header: 8, extents: [labelHeader[0]],
                             what: "\(labelHeader[0]) labels", url: labels)
        guard labelHeader[0] == n else {
            throw GAEError.invalidDataset(path: labels.path, reason: "\(labelHeader[0]) labels for the \(n) images of \(images.path)")
        }
        height = h
        width = w
        pixels = Array(imageBytes[16..<(16 + n * h * w)])
        self.labels = labelBytes[8..<(8 + n)].map(Int.init)
    }

    public func image(at index: Int) throws -> (image: Tensor, label: Int) {
        let plane = height * width
        var t = Tensor(shape: [1, height, width], storage: pixels[(index * plane)..<((index + 1) * plane)].map { Float($0) / 255 })
        let target = preprocessing.cropSize
        if target.height != height || target.width != width {
            t = resizeBilinearAntialiased(t, height: target.height, width: target.width)
        }
        if preprocessing.channels == 3 {
            t = Tensor(shape: [3, t.shape[1], t.shape[2]], storage: t.storage + t.storage + t.storage)
        }
        return (preprocessing.normalize(t), labels[index])
    }

    public func itemName(at index: Int) -> String { "\(imagesURL.path)[\(index)]" }

    /// Throws unless `length == header + product(extents)`, computed without overflow.
    private static func checkLength(_ length: Int, header: Int, extents: [Int], what: String, url: URL) throws {
        var product = 1, needed = header, overflow = false
        for extent in extents where !overflow { (product, overflow) = product.multipliedReportingOverflow(by: extent) }
        if !overflow { (needed, overflow) = header.addingReportingOverflow(product) }
        guard !overflow, needed == length else {
            let size = overflow ? "more than \(Int.max)" : "\(needed)"
            let why = overflow || needed > length ? "truncated, or a wrong header" : "bytes after the last item"
            throw GAEError.invalidDataset(path: url.path, reason: "\(what) need \(size) bytes with the header, "
                                          + "the file has \(length) (\(why))")
        }
    }

    /// The sizes after a valid magic number (`0x0000` + type + dimension count).
    private static func header(_ bytes: [UInt8], magic: Int, dimensions: Int, url: URL) throws -> [Int] {
        func word(_ i: Int) -> Int { bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        guard bytes.count >= 4 + 4 * dimensions, word(0) == magic else {
            let kind = dimensions == 3 ? "an IDX image file (magic 0x00000803)" : "an IDX label file (magic 0x00000801)"
            throw GAEError.invalidDataset(path: url.path, reason: "not \(kind)")
        }
        return (0..<dimensions).map { word(4 + 4 * $0) }
    }
}

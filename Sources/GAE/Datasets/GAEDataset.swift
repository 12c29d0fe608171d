import AbsLRPCore
import Foundation

/// A labelled image data set for GAE: `count` items, each a preprocessed
/// model input and its class.
public protocol GAEDataset {
    /// A name for reports (the folder or file it was read from).
    var name: String { get }
    /// Number of items.
    var count: Int { get }
    /// Item `index` (0 ..< count): the preprocessed image, shape (C, H, W),
    /// and its label.
    /// - Throws: ``GAEError/unreadableImage(item:reason:)`` naming the item.
    func image(at index: Int) throws -> (image: Tensor, label: Int)
    /// How error messages and results name item `index` (its file, or `file[index]`).
    func itemName(at index: Int) -> String
    /// How folder names became labels, for data sets that have folders.
    var labelMapping: LabelMapping? { get }
}

extension GAEDataset {
    public var labelMapping: LabelMapping? { nil }
}

/// The first `count` items of another data set (`--limit`).
public struct PrefixDataset: GAEDataset {
    public let base: GAEDataset
    public let count: Int

    public init(base: GAEDataset, count: Int) {
        precondition(count >= 0 && count <= base.count)
        self.base = base
        self.count = count
    }

    public var name: String { count == base.count ? base.name : "\(base.name)[0..<\(count)]" }
    public func image(at index: Int) throws -> (image: Tensor, label: Int) { try base.image(at: index) }
    public func itemName(at index: Int) -> String { base.itemName(at: index) }
    public var labelMapping: LabelMapping? { base.labelMapping }
}

/// An image file decoded and preprocessed for the model; a file that cannot
/// be decoded is a ``GAEError/unreadableImage(item:reason:)`` naming it.
func preprocessedImage(_ url: URL, _ preprocessing: PreprocessingConfig) throws -> Tensor {
    do {
        return try preprocessing.preprocessed(try RGBImage.decode(contentsOf: url), source: url.path)
    } catch let error as ImageDecodeError {
        throw GAEError.unreadableImage(item: url.path, reason: error.description)
    }
}

import AbsLRPCore

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
    /// How error messages name item `index` (its file, or `file[index]`).
    func itemName(at index: Int) -> String
}

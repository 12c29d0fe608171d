import AbsLRPCore
import Foundation

/// Preprocessed images in a safetensors file: `input` (N, C, H, W), float,
/// already normalised for the model, and `label` (N), integers. (The GAE
/// fixtures of `Tests/Fixtures/reference` have this form.)
public struct SafetensorsDataset: GAEDataset {
    public let url: URL
    /// All images, (N, C, H, W).
    public let inputs: Tensor
    public let labels: [Int]

    public var name: String { url.path }
    public var count: Int { labels.count }

    /// Reads both tensors.
    /// - Throws: ``GAEError/invalidDataset(path:reason:)`` when the file cannot
    ///   be read, lacks a tensor, or their shapes disagree.
    public init(url: URL) throws {
        self.url = url
        do {
            let file = try SafetensorsFile(contentsOf: url)
            for key in ["input", "label"] where !file.contains(key) {
                throw GAEError.invalidDataset(path: url.path, reason: "no '\(key)' tensor (need input (N, C, H, W) and label (N))")
            }
            let labelShape = try file.info("label").shape
            guard labelShape.count == 1 else {
                throw GAEError.invalidDataset(path: url.path, reason: "'label' has shape \(labelShape); need (N), one class per image")
            }
            inputs = try file.tensor("input")
            labels = try file.integers("label")
        } catch let error as GAEError {
            throw error
        } catch {
            throw GAEError.invalidDataset(path: url.path, reason: "\(error)")
        }
        guard inputs.rank == 4, inputs.shape[0] == labels.count, inputs.count > 0 else {
            throw GAEError.invalidDataset(path: url.path, reason: "input has shape \(inputs.shape) for \(labels.count) labels; "
                                          + "need (N, C, H, W) and (N), none of them 0")
        }
        if let (index, value) = inputs.firstNonFinite() {
            throw GAEError.invalidDataset(path: url.path, reason: "tensor 'input' holds \(value) at index \(index) "
                                          + "(image \(index[0])): only finite numbers can be evaluated")
        }
    }

    public func image(at index: Int) throws -> (image: Tensor, label: Int) {
        (inputs.batchSlice(index..<(index + 1)).reshaped(Array(inputs.shape.dropFirst())), labels[index])
    }

    public func itemName(at index: Int) -> String { "\(url.path)[\(index)]" }
}

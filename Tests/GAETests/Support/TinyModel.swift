import AbsLRPCore
import GAE

/// A small randomly initialised ResNet and random data, for tests of the
/// run's machinery that need no reference numbers (fast in debug builds).
enum TinyModel {
    /// ResNet (basic blocks, one per stage, widths 4-8) for `channels`x`size`x`size` images, 10 classes.
    static func classifier(channels: Int = 3, size: Int = 16, seed: UInt64 = 7) -> Classifier {
        let architecture = Architecture.resnet(ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], channels: [4, 8, 8, 8],
                                                                   numClasses: 10, inChannels: channels))
        let configuration = ModelConfiguration(architecture: architecture, inputSize: [channels, size, size],
                                               mean: Array(repeating: 0.5, count: channels),
                                               std: Array(repeating: 0.25, count: channels),
                                               cropPct: 0.875, name: "tiny_resnet")
        let classifier = Classifier(configuration: configuration)
        classifier.randomizeWeights(seed: seed)
        return classifier
    }

    /// `count` random images (normal values), labelled with `labeller`'s
    /// predictions (so that scores stay in their usual range), or `i % 10`.
    static func dataset(count: Int, channels: Int = 3, size: Int = 16, seed: UInt64 = 11,
                        labeller: Classifier? = nil) -> TensorDataset {
        var rng = SplitMix64(seed: seed)
        let images = (0..<count).map { _ in Tensor(shape: [channels, size, size]) { _ in rng.nextNormal() } }
        let labels = labeller.map { model in
            images.map { model.logits(Tensor(shape: [1] + $0.shape, storage: $0.storage)).argmaxRows()[0] }
        } ?? (0..<count).map { $0 % 10 }
        return TensorDataset(name: "random-\(count)", images: images, labels: labels)
    }
}

/// Images held in memory.
struct TensorDataset: GAEDataset {
    let name: String
    let images: [Tensor]
    let labels: [Int]

    var count: Int { images.count }
    func image(at index: Int) throws -> (image: Tensor, label: Int) { (images[index], labels[index]) }
    func itemName(at index: Int) -> String { "\(name)[\(index)]" }
}

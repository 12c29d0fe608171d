import AbsLRPCore
import Foundation
import XCTest
import GAE

/// Throughput of a GAE run of absLRP on the first 256 Fashion-MNIST test
/// images. Opt-in (slow in debug builds): set `GAE_BENCHMARK_MODEL` to a
/// model's `NAME.json`; its weights are `NAME.safetensors` beside it, or
/// random when that file is missing. With `GAE_PICTURES_DIR` the results and
/// pictures are written there. Run it in release:
///
///     GAE_BENCHMARK_MODEL=Weights/resnet_fmnist.json swift test -c release \
///         --scratch-path .build-gae-release --filter FashionMNISTBenchmarkTests
final class FashionMNISTBenchmarkTests: XCTestCase {
    func testThroughputOn256TestImages() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let modelPath = environment["GAE_BENCHMARK_MODEL"] else { throw XCTSkip("set GAE_BENCHMARK_MODEL to run") }
        let folder = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")
        let configURL = URL(fileURLWithPath: modelPath)
        let config = try ModelConfiguration(contentsOf: configURL)
        let weights = configURL.deletingPathExtension().appendingPathExtension("safetensors")
        let classifier: Classifier
        if FileManager.default.fileExists(atPath: weights.path) {
            classifier = try Classifier(configuration: config, weights: weights)
        } else {
            classifier = Classifier(configuration: config)
            classifier.randomizeWeights(seed: 1)
        }
        let preprocessing = try config.preprocessing()
        let all = try IDXDataset(images: folder.appendingPathComponent("t10k-images-idx3-ubyte.gz"),
                                 labels: folder.appendingPathComponent("t10k-labels-idx1-ubyte.gz"), preprocessing: preprocessing)
        let data = FirstItems(base: all, count: 256)
        let methods = try GAEMethodCatalog.methods(named: ["abslrp"], classifier: classifier)
        let gae = try GlobalAttributionEvaluation(classifier: classifier, methods: methods,
                                                  configuration: GAEConfiguration(batchSize: 32, seed: 0))
        let extremes = ExtremeMaps(k: 4)
        let report = try gae.run(on: data, progress: StandardErrorProgressReporter(interval: 10), keeping: extremes)
        let s = report.summary[0]
        print("GAE benchmark \(config.name) (\(FileManager.default.fileExists(atPath: weights.path) ? "trained" : "random") weights), "
              + "BLAS threads \(blasThreadCount): \(report.throughput.images) images in "
              + String(format: "%.1f s, %.2f images/s; ", report.throughput.seconds, report.throughput.imagesPerSecond)
              + "mean LC \(s.localConsistency.mean!), contrastiveness \(s.contrastiveness.mean!), GAE \(s.gae.mean!)")
        if let out = environment["GAE_PICTURES_DIR"] {
            let url = URL(fileURLWithPath: out)
            try report.write(to: url)
            try report.writePictures(to: url, extremes: extremes, model: config)
        }
    }
}

/// The first `count` items of another data set.
private struct FirstItems: GAEDataset {
    let base: GAEDataset
    let count: Int
    var name: String { "\(base.name) (first \(count))" }
    func image(at index: Int) throws -> (image: Tensor, label: Int) { try base.image(at: index) }
    func itemName(at index: Int) -> String { base.itemName(at: index) }
}

import AbsLRPCore
import Foundation
import GAE
import XCTest

/// The bundled Fashion-MNIST models (`Weights/`) reach, in Swift, the test
/// accuracy recorded when they were trained in PyTorch (within 0.5 points),
/// over all 10,000 test images of Debian's `dataset-fashion-mnist`.
final class BundledModelAccuracyTests: XCTestCase {
    static let weights = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Weights")

    func testBundledModelsReachTheirRecordedAccuracy() throws {
        let names = ["vgg_fmnist", "resnet_fmnist", "vit_fmnist"]
        for name in names {
            let url = Self.weights.appendingPathComponent("\(name).json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            let recorded = try XCTUnwrap(json["test_accuracy"] as? Double, "\(name): no test_accuracy recorded")
            let config = try ModelConfiguration(contentsOf: url)
            let classifier = try Classifier(configuration: config, weights: Self.weights.appendingPathComponent("\(name).safetensors"))
            let data = try GAEDatasets.open("fashion-mnist-test", preprocessing: config.preprocessing())
            XCTAssertEqual(data.count, 10_000)
            var correct = 0
            let batch = 250
            for start in Swift.stride(from: 0, to: data.count, by: batch) {
                let items = try (start..<min(start + batch, data.count)).map { try data.image(at: $0) }
                let logits = classifier.logits(Tensor.stack(items.map(\.image)))
                correct += zip(logits.argmaxRows(), items.map(\.label)).filter { $0 == $1 }.count
            }
            let accuracy = 100 * Double(correct) / Double(data.count)
            print("bundled \(name): \(accuracy)% in Swift, \(recorded)% recorded")
            XCTAssertEqual(accuracy, recorded, accuracy: 0.5, name)
        }
    }
}

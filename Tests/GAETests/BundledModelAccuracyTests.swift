import AbsLRPCore
import Foundation
import GAE
import XCTest

/// The bundled Fashion-MNIST models (the package's `Weights` resource) reach,
/// in Swift, the test accuracy PyTorch measured when they were trained
/// (`test_accuracy`, recorded to 0.01 points: the same count of correct images
/// up to 2 of 10,000 whose logits tie within float32 rounding), and the bars
/// the models are held to (CNNs 91%, ViT 88%), over all 10,000 test images of
/// Debian's `dataset-fashion-mnist`.
final class BundledModelAccuracyTests: XCTestCase {
    func testVGG() throws { try check("vgg_fmnist", bar: 91) }
    func testResNet() throws { try check("resnet_fmnist", bar: 91) }
    func testViT() throws { try check("vit_fmnist", bar: 88) }

    func check(_ name: String, bar: Double) throws {
        let weights = try BundledResources.weightsDirectory()
        let url = weights.appendingPathComponent("\(name).json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let recorded = try XCTUnwrap(json["test_accuracy"] as? Double, "\(name): no test_accuracy recorded")
        let config = try ModelConfiguration(contentsOf: url)
        let classifier = try Classifier(configuration: config, weights: weights.appendingPathComponent("\(name).safetensors"))
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
        XCTAssertEqual(accuracy, recorded, accuracy: 0.025, name)
        XCTAssertGreaterThanOrEqual(accuracy, bar, name)
    }
}

import XCTest
@testable import AbsLRPCore

/// The products the benchmark times on oneDNN (`MatrixProduct.matmul`) are
/// the primitives the layers compute with.
final class OneDNNProductTests: XCTestCase {
    /// Linear's forward products are its matmul calls: per part of the batch
    /// the primitive they name gives the layer's rows bit for bit.
    func testLinearsMatmulsAreTheLayersOwn() throws {
        let linear = Linear(name: "fc", inFeatures: 64, outFeatures: 96)
        linear.setParameter("weight", randomTensor([96, 64], seed: 47))
        linear.setParameter("bias", randomTensor([96], seed: 48))
        let x = randomTensor([4, 50, 64], seed: 49), y = linear.apply(x)
        let products = linear.forwardMatrixProducts(Record(inputs: [x], output: y))
        XCTAssertEqual(products.count, min(parallelWidth, 4))
        var row = 0
        for product in products {
            guard case .matmul(let shape) = product else { return XCTFail("\(product) is not a oneDNN matmul") }
            let primitive = try XCTUnwrap(MatmulPrimitive.cached(shape))
            let part = Tensor(shape: [shape.rows, 96]) { out in
                x.storage.withUnsafeBufferPointer { xs in
                    linear.parameter("weight").storage.withUnsafeBufferPointer { w in
                        linear.parameter("bias").storage.withUnsafeBufferPointer { b in
                            let run = { primitive.run(xs.baseAddress! + row * 64, weight: w.baseAddress!, bias: b.baseAddress!, into: out) }
                            if shape.threads == 1 { _ = concurrently(run, {}) } else { run() }
                        }
                    }
                }
            }
            XCTAssertEqual(maxDifference(part, Tensor(shape: [shape.rows, 96], storage: Array(y.storage[(row * 96)..<((row + shape.rows) * 96)]))), 0)
            row += shape.rows
        }
        XCTAssertEqual(row, 200)
        XCTAssertEqual(products.reduce(0) { $0 + $1.flop }, 2 * 200 * 64 * 96)
    }

    /// The largest elementwise difference (infinite for different shapes).
    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
    }
}

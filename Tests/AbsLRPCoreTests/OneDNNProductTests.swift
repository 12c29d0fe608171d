import XCTest
@testable import AbsLRPCore

/// The products the benchmark times on oneDNN (`MatrixProduct.convolution`,
/// `.matmul`) are the primitives the layers compute with, and the honest
/// limit still counts convolutions as direct products.
final class OneDNNProductTests: XCTestCase {
    /// A 3x3 stride-1 convolution of 16 channels on 28x28 (Winograd's
    /// territory) and the same convolution at stride 2 (direct).
    private func layers() -> (same: Conv2d, strided: Conv2d) {
        let same = Conv2d(name: "same", inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1, bias: false)
        let strided = Conv2d(name: "strided", inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, bias: false)
        for (i, conv) in [same, strided].enumerated() { conv.setParameter("weight", randomTensor([16, 16, 3, 3], seed: 40 + UInt64(i))) }
        return (same, strided)
    }

    /// The forward's products are the layer's oneDNN forward calls (im2col
    /// GEMMs for the strided layer) and the
    /// backward-data primitive a product names computes, bit for bit, what
    /// the layer computes: the benchmark times the layer's own code path.
    func testTheTimedPrimitiveIsTheLayersOwn() throws {
        let (same, strided) = layers()
        let x = randomTensor([2, 16, 28, 28], seed: 42)
        for conv in [same, strided] {
            let y = conv.apply(x)
            let record = Record(inputs: [x], output: y)
            let forward = conv.forwardMatrixProducts(record)
            if conv === strided {
                // a strided 3x3 layer keeps im2col + sgemm (ConvolutionShape.forwardAlgorithm)
                XCTAssertTrue(forward.allSatisfy { if case .gemm = $0 { true } else { false } }, "\(forward)")
            } else {
                XCTAssertEqual(maxDifference(runForward(forward, conv, x), y), 0, "\(conv.name): forward")
            }
            // where Conv2d keeps im2col for the backward too, its GEMMs are named (ProductCountTests)
            guard case .convolution(let b)? = conv.backwardMatrixProducts(record).first else { continue }
            XCTAssertEqual(conv.backwardMatrixProducts(record).count, 1)
            XCTAssertEqual([b.images, b.channels, b.height, b.outChannels, b.outHeight], [2, 16, 28, 16, y.shape[2]])
            let g = randomTensor(y.shape, seed: 43)
            XCTAssertEqual(maxDifference(run(b, conv, g), conv.vjp(g, record)[0]), 0, "\(conv.name): backward data")
        }
        let b = try XCTUnwrap(backwardShape(same, x), "a 3x3 stride-1 16-channel convolution on 28x28 runs on oneDNN")
        XCTAssertEqual(b.algorithm, .winograd)
        XCTAssertTrue(b.implementation.contains("wino"), b.implementation)
    }

    /// Timing a convolution product runs that primitive: its kernel is
    /// oneDNN's implementation, its rate counts the direct product's FLOPs.
    func testTimingAConvolutionRunsItsPrimitive() throws {
        let (same, _) = layers()
        let shape = try XCTUnwrap(backwardShape(same, randomTensor([2, 16, 28, 28], seed: 44)))
        let product = MatrixProduct.convolution(shape)
        XCTAssertEqual(product.flop, 2 * Double(2 * 16 * 28 * 28) * Double(16 * 3 * 3))
        let timed = ProductTiming.time([product, product], .pair, rounds: 1)
        XCTAssertEqual(timed.count, 1)
        XCTAssertEqual(timed[0].occurrences, 2)
        XCTAssertEqual(timed[0].kernel, "oneDNN \(ConvolutionPrimitive.cached(shape)!.implementation)")
        XCTAssertTrue(timed[0].seconds > 0 && timed[0].gflops > 0)
        let halves = try XCTUnwrap(shape.halves)
        XCTAssertEqual([halves.0.images, halves.1.images], [1, 1])
    }

    /// A VGG of 16-channel 3x3 convolutions on 28x28 inputs (in_chans 16, no
    /// pools), counted by hand as direct products, with the share its
    /// Winograd convolutions take: both features convolutions' backward
    /// products (the forward's Winograd calls are not in the share, which
    /// counts the passes); pre_logits' 7x7 and 1x1
    /// convolutions and the head are direct.
    func testCountKeepsDirectProductsAndNamesTheWinogradShare() {
        let classifier = Classifier(configuration: ModelConfiguration(
            architecture: .vgg(VGGConfiguration(cfg: [16, 16], mlpRatio: 8.0 / 4096, numClasses: 5, inChannels: 16)),
            inputSize: [16, 28, 28], mean: [Float](repeating: 0, count: 16), std: [Float](repeating: 1, count: 16),
            cropPct: 0.875, name: "vgg_16_channels"))
        classifier.randomizeWeights(seed: 45)
        let (_, tape) = classifier.recordedForward(randomTensor([2, 16, 28, 28], seed: 46))
        let count = classifier.absLRPProducts(tape, images: 2).count
        let conv = 16 * 28 * 28 * (16 * 3 * 3)  // features.0 and features.2
        let fc1 = 8 * 22 * 22 * (16 * 7 * 7)    // 7x7 on 28x28, unpadded
        let fc2 = 4096 * 22 * 22 * 8            // 1x1
        let head = 5 * 4096
        let forward = Double(2 * conv + fc1 + fc2 + head)
        // features.0 reads the (signed) input: two products; the rest follow a ReLU (or its pools)
        let pass = forward + Double(conv)
        let gflop = { (macs: Double) in 2 * macs / 1e9 }
        XCTAssertEqual(count.forward, gflop(forward), accuracy: 1e-12)
        XCTAssertEqual(count.total, gflop(forward + 2 * pass), accuracy: 1e-12)
        XCTAssertEqual(count.winograd, gflop(2 * Double(3 * conv)), accuracy: 1e-12)
    }

    /// Linear's forward products are its matmul calls: per part of the rows
    /// the primitive they name gives the layer's rows bit for bit.
    func testLinearsMatmulsAreTheLayersOwn() throws {
        let linear = Linear(name: "fc", inFeatures: 64, outFeatures: 96)
        linear.setParameter("weight", randomTensor([96, 64], seed: 47))
        linear.setParameter("bias", randomTensor([96], seed: 48))
        let x = randomTensor([4, 50, 64], seed: 49), y = linear.apply(x)
        let products = linear.forwardMatrixProducts(Record(inputs: [x], output: y))
        XCTAssertEqual(products.count, min(parallelWidth, 200))
        var row = 0
        for product in products {
            guard case .matmul(let shape) = product else { return XCTFail("\(product) is not a oneDNN matmul") }
            let primitive = try XCTUnwrap(MatmulPrimitive.cached(shape))
            let part = Tensor(shape: [shape.rows, 96]) { out in
                x.storage.withUnsafeBufferPointer { xs in
                    linear.parameter("weight").storage.withUnsafeBufferPointer { w in
                        linear.parameter("bias").storage.withUnsafeBufferPointer { b in
                            let run = { primitive.run(xs.baseAddress! + row * 64, weight: w.baseAddress!, bias: b.baseAddress!, into: out) }
                            _ = concurrently(run, {})  // the primitive runs on one thread
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

    /// Timing Linear's matmuls (forward products, `.one`) never runs a
    /// one-thread primitive on all cores (which trapped `abslrp bench` on
    /// ViT-B): its row halves run one per core, and a part of one row,
    /// which cannot be cut, on one core.
    func testTimingAMatmulRunsItOnePerCore() throws {
        for rows in [1, 100] {
            let shape = MatmulPrimitive.Shape(rows: rows, inFeatures: 64, outFeatures: 96, hasBias: true)
            guard MatmulPrimitive.cached(shape) != nil else { continue }
            let timed = ProductTiming.time([.matmul(shape)], .one, rounds: 1)
            XCTAssertEqual(timed.count, 1)
            XCTAssertTrue(timed[0].seconds > 0 && timed[0].seconds.isFinite, "\(rows) rows: \(timed[0].seconds) s")
            XCTAssertEqual(timed[0].fasterWay, "one per core")
        }
    }

    /// The three kinds of product cut their halves the one way
    /// (`TimableProduct.halves(along:where:)`): `n / 2` and the rest of their
    /// size (a GEMM's rows, a matmul's rows, a convolution's images), nil
    /// below 2 or, for oneDNN's, when a half has no primitive.
    func testHalvesCutOneSizeInTwo() throws {
        XCTAssertNil(GEMMShape(m: 1, n: 4, k: 4).halves)
        let gemm = try XCTUnwrap(GEMMShape(m: 5, n: 4, k: 3).halves)
        XCTAssertEqual([gemm.0, gemm.1], [GEMMShape(m: 2, n: 4, k: 3), GEMMShape(m: 3, n: 4, k: 3)])
        let matmul = MatmulPrimitive.Shape(rows: 7, inFeatures: 64, outFeatures: 96, hasBias: true)
        if MatmulPrimitive.cached(matmul) != nil {
            let halves = try XCTUnwrap(matmul.halves)
            XCTAssertEqual([halves.0.rows, halves.1.rows], [3, 4])
        }
        XCTAssertNil(MatmulPrimitive.Shape(rows: 1, inFeatures: 64, outFeatures: 96, hasBias: true).halves)
        XCTAssertNil(GEMMShape(m: 6, n: 4, k: 3).halves(along: \.m) { $0.m != 3 }, "a half refused")
    }

    /// `shape`'s primitive run (with its reorders) on NCHW `g` with the
    /// layer's weights in the primitive's layout.
    private func run(_ shape: ConvolutionShape, _ conv: Conv2d, _ g: Tensor) -> Tensor {
        let primitive = ConvolutionPrimitive.cached(shape)!
        let weights = Scratch(count: primitive.weightsCount)
        defer { weights.free() }
        conv.parameter("weight").storage.withUnsafeBufferPointer { primitive.prepareWeights($0.baseAddress!, into: weights.base) }
        return g.storage.withUnsafeBufferPointer { a in
            Tensor(shape: shape.inputDimensions) { c in primitive.run(a.baseAddress!, weights: weights.base, into: c) }
        }
    }

    /// The forward products `products` (one per part of the batch, in
    /// order) run as their primitives on `x` with the layer's weights.
    private func runForward(_ products: [MatrixProduct], _ conv: Conv2d, _ x: Tensor) -> Tensor {
        let geo = conv.geometry(height: x.shape[2], width: x.shape[3])
        let (inImage, outImage) = (x.sampleCount, conv.outChannels * geo.outputPixels)
        return Tensor(shape: [x.shape[0], conv.outChannels, geo.outputHeight, geo.outputWidth]) { y in
            var image = 0
            for product in products {
                guard case .forwardConvolution(let shape) = product, let primitive = ConvolutionForwardPrimitive.cached(shape) else {
                    return XCTFail("\(product) is not a oneDNN forward convolution")
                }
                let weights = Scratch(count: primitive.weightsCount)
                defer { weights.free() }
                conv.parameter("weight").storage.withUnsafeBufferPointer { primitive.prepareWeights($0.baseAddress!, into: weights.base) }
                x.storage.withUnsafeBufferPointer { xs in
                    primitive.run(xs.baseAddress! + image * inImage, weights: weights.base, bias: nil, into: y + image * outImage)
                }
                image += shape.convolution.images
            }
            XCTAssertEqual(image, x.shape[0])
        }
    }

    /// The largest elementwise difference (infinite for different shapes).
    private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
    }

    private func backwardShape(_ conv: Conv2d, _ x: Tensor) -> ConvolutionShape? {
        let record = Record(inputs: [x], output: conv.apply(x))
        guard case .convolution(let shape)? = conv.backwardMatrixProducts(record).first else { return nil }
        return shape
    }
}

import XCTest
@testable import AbsLRPCore

/// `Classifier.absLRPProducts`, behind the honest and shape-exact limits of
/// `abslrp bench`: its GEMM shapes and their count against products counted
/// by hand (a tiny ViT) and by naive loops over the layers (a tiny ResNet).
final class ProductCountTests: XCTestCase {
    /// TinyModels.vit: 16x16 images, 4x4 patches (16 patches + class token = 17
    /// tokens), width 12, 3 heads of 4, MLP 24, 2 blocks, 5 classes.
    func testVisionTransformerCountsEveryProductOfTheReferencesRule() {
        let classifier = TinyModels.vit()
        let (_, tape) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 1))
        let count = classifier.absLRPProducts(tape, images: 1).count
        let (tokens, width, heads, headDim, hidden) = (17, 12, 3, 4, 24)
        // multiply-adds of each forward product
        let patchEmbedding = Double(width * 16 * 48)
        let qkv = Double(tokens * 3 * width * width), proj = Double(tokens * width * width)
        let fc1 = Double(tokens * hidden * width), fc2 = Double(tokens * width * hidden)
        let attention = Double(2 * heads * tokens * tokens * headDim)  // q k^T and a v
        let head = Double(5 * width)  // the class token only
        let affine = patchEmbedding + 2 * (qkv + proj + fc1 + fc2) + head
        let forward = affine + 2 * attention
        // every affine input has both signs here (image, LayerNorm, attention output, GELU): two products each
        let pass = 2 * affine + 4 * 2 * attention
        // per block: W^T g through qkv, proj, fc1, fc2, and both attention inputs' VJPs
        let branches = 2 * (qkv + proj + fc1 + fc2 + 2 * attention)
        let gflop = { (macs: Double) in 2 * macs / 1e9 }
        XCTAssertEqual(count.forward, gflop(forward), accuracy: 1e-15)
        XCTAssertEqual(count.relevancePasses, gflop(2 * pass), accuracy: 1e-15)
        XCTAssertEqual(count.attentionInPasses, gflop(2 * 4 * 2 * attention), accuracy: 1e-15)
        XCTAssertEqual(count.shortcutBranchGradients, gflop(2 * branches), accuracy: 1e-15)
        XCTAssertEqual(count.total, gflop(forward + 2 * pass + 2 * branches), accuracy: 1e-15)
        XCTAssertEqual(count.inputGradient, gflop(affine + 2 * 2 * attention), accuracy: 1e-15)
    }

    /// The ViT's shapes at batch 2, as the layers call sgemm: linear layers
    /// over all tokens of both images, attention per image and head.
    func testVisionTransformerShapesAreTheProductsAsCalled() {
        let classifier = TinyModels.vit()
        let (_, tape) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 2))
        let products = classifier.absLRPProducts(tape, images: 2)
        let rows = 2 * 17, perHead = 2 * 3
        func occurrences(_ shape: GEMMShape, in products: [MatrixProduct]) -> Int { products.filter { $0 == .gemm(shape) }.count }
        // qkv: x W[36, 12]^T forward, one image's 17 rows per core (a oneDNN matmul or an sgemm each);
        // g[rows, 36] W[36, 12] backward over all rows (twice per pass: W and |W|)
        func forwardRows(_ outFeatures: Int) -> [Int] {
            products.forward.compactMap {
                switch $0 {
                case .matmul(let m) where m.outFeatures == outFeatures && m.inFeatures == 12: m.rows
                case .gemm(let g) where g.transposeB && g.n == outFeatures && g.k == 12: g.m
                default: nil
                }
            }
        }
        XCTAssertEqual(forwardRows(36), [17, 17].repeated(2), "two parts of one image, two blocks")
        XCTAssertEqual(occurrences(GEMMShape(m: rows, n: 12, k: 36), in: products.relevancePass), 2 * 2)
        // q k^T per head: q[17, 4] k[17, 4]^T; VJPs g k and g^T q; a v: a[17, 17] v[17, 4]; VJPs g v^T and a^T g
        XCTAssertEqual(occurrences(GEMMShape(transposeB: true, m: 17, n: 17, k: 4), in: products.forward), 2 * perHead)
        XCTAssertEqual(occurrences(GEMMShape(m: 17, n: 4, k: 17), in: products.forward), 2 * perHead)
        XCTAssertEqual(occurrences(GEMMShape(m: 17, n: 4, k: 17), in: products.inputGradient), 2 * perHead)
        XCTAssertEqual(occurrences(GEMMShape(transposeA: true, m: 17, n: 4, k: 17), in: products.inputGradient), 2 * 2 * perHead)
        XCTAssertEqual(occurrences(GEMMShape(transposeB: true, m: 17, n: 17, k: 4), in: products.attentionInPass), 2 * 2 * perHead)
        // the patch embedding: W[12, 48] cols[48, 2*16] forward
        XCTAssertEqual(occurrences(GEMMShape(m: 12, n: 32, k: 48), in: products.forward), 1)
        // the head reads the class token only
        XCTAssertEqual(forwardRows(5), [1, 1])
    }

    /// A tiny ResNet's count against naive loops over its convolutions and
    /// linear layer: a direct convolution does `C/G * kh * kw` multiply-adds
    /// per output value; each pass multiplies once per layer with a
    /// nonnegative input and twice otherwise, and once more per layer of a
    /// block without downsample. BasicBlocks [2, 1, 1, 1], widths [4, 8, 8, 8]
    /// (layer1's second block has the identity shortcut), 64x64 inputs.
    func testResNetCountIsTheNaiveCountOfItsLayers() {
        let architecture = Architecture.resnet(ResNetConfiguration(block: .basic, layers: [2, 1, 1, 1], channels: [4, 8, 8, 8],
                                                                   numClasses: 5))
        let classifier = Classifier(configuration: ModelConfiguration(
            architecture: architecture, inputSize: [3, 64, 64], mean: imagenetDefaultMean, std: imagenetDefaultStd,
            cropPct: 0.875, name: "tiny_resnet"))
        classifier.randomizeWeights(seed: 2)
        let batch = 3
        let (_, tape) = classifier.recordedForward(TinyModels.input(for: classifier, batch: batch))
        let products = classifier.absLRPProducts(tape, images: batch)
        func macs(_ module: Module) -> Double {
            let record = tape.record(for: module)
            if let conv = module as? Conv2d {
                return Double(record.output.count * conv.inChannels / conv.groups * conv.kernelSize * conv.kernelSize)
            }
            let linear = module as! Linear
            return Double(record.output.count * linear.inFeatures)
        }
        let layers = classifier.network.allModules.filter { ($0 is Conv2d || $0 is Linear) && tape.has($0) }
        XCTAssertEqual(layers.count, 1 + 5 * 2 + 4 + 1, "stem, two convolutions per block, four downsamples, the head")
        let forward = layers.reduce(0) { $0 + macs($1) }
        let pass = layers.reduce(0) { $0 + macs($1) * (tape.record(for: $1).nonnegativeInput ? 1 : 2) }
        let blocks = classifier.network.allModules.compactMap { $0 as? ResidualBlock }.filter { $0.downsample == nil }
        XCTAssertEqual(blocks.count, 1, "only layer1's second block keeps its width and resolution")
        let branch = blocks.flatMap(\.mainBranch).filter { $0 is Conv2d }.reduce(0) { $0 + macs($1) }
        let perImage = { (macs: Double) in 2 * macs / 1e9 / Double(batch) }
        let count = products.count
        XCTAssertEqual(count.forward, perImage(forward), accuracy: 1e-15)
        XCTAssertEqual(count.relevancePasses, perImage(2 * pass), accuracy: 1e-15)
        XCTAssertEqual(count.shortcutBranchGradients, perImage(2 * branch), accuracy: 1e-15)
        XCTAssertEqual(count.inputGradient, perImage(forward), accuracy: 1e-15)
        XCTAssertEqual(count.attentionInPasses, 0)
        // after the first ReLU every convolution's input is nonnegative: one product each
        XCTAssertLessThan(pass, 2 * forward)
        // the 7x7 stem's forward runs on oneDNN, its calls covering every image of the batch's parts
        let stem = layers[0] as! Conv2d
        let stemImages = stem.forwardMatrixProducts(tape.record(for: stem)).map { product -> Int in
            guard case .forwardConvolution(let f) = product, f.algorithm == .direct else { return 0 }
            return f.convolution.images
        }
        XCTAssertEqual(stemImages.reduce(0, +), batch, "\(stemImages)")
        XCTAssertEqual(stemImages.count, min(batch, parallelWidth))
    }

    /// TinyModels.vgg on 16x16 images, counted by hand as direct products
    /// (`C/G * kh * kw` multiply-adds per output value), whatever algorithm
    /// computes them (a 3x3 stride-1 convolution may run as Winograd, which
    /// multiplies less: the honest limit still counts the direct product).
    func testVGGCountIsTheHandCountOfItsDirectProducts() {
        let classifier = TinyModels.vgg()
        let (_, tape) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 2))
        let count = classifier.absLRPProducts(tape, images: 2).count
        let conv0 = 4 * 16 * 16 * (3 * 3 * 3)   // features.0: 3 -> 4 channels, 3x3, 16x16 output; the image (signed)
        let conv3 = 8 * 8 * 8 * (4 * 3 * 3)     // features.3: 4 -> 8 after the 2x2 pool, 8x8 output
        let fc1 = 8 * 1 * 1 * (8 * 7 * 7)       // pre_logits.fc1: 7x7 on the 4x4 map pooled up to 7x7, 1x1 output
        let fc2 = 4096 * (8 * 1 * 1)            // pre_logits.fc2: 1x1, 8 -> 4096
        let head = 5 * 4096
        let forward = Double(conv0 + conv3 + fc1 + fc2 + head)
        // only features.0's input has both signs (W^T S and |W|^T S); the others follow a ReLU or a pool of one
        let pass = forward + Double(conv0)
        let gflop = { (macs: Double) in 2 * macs / 1e9 }
        XCTAssertEqual(count.forward, gflop(forward), accuracy: 1e-15)
        XCTAssertEqual(count.relevancePasses, gflop(2 * pass), accuracy: 1e-15)
        XCTAssertEqual(count.shortcutBranchGradients, 0)
        XCTAssertEqual(count.attentionInPasses, 0)
        XCTAssertEqual(count.total, gflop(forward + 2 * pass), accuracy: 1e-15)
        XCTAssertEqual(count.inputGradient, gflop(forward), accuracy: 1e-15)
    }

    /// Counts are per image: a batch of 3 gives the counts of one image.
    func testCountsArePerImage() {
        let classifier = TinyModels.resnet()
        let (_, one) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 1))
        let (_, three) = classifier.recordedForward(TinyModels.input(for: classifier, batch: 3))
        let a = classifier.absLRPProducts(one, images: 1).count, b = classifier.absLRPProducts(three, images: 3).count
        XCTAssertEqual(a.forward, b.forward, accuracy: 1e-15)
        XCTAssertEqual(a.shortcutBranchGradients, b.shortcutBranchGradients, accuracy: 1e-15)
    }

    /// Grouped convolutions: forward one GEMM per group, of the group's
    /// extents; backward (one oneDNN call for all groups, or a GEMM per
    /// group where Conv2d keeps im2col) with the groups' direct
    /// multiply-adds, `(C/G) kh kw` per output value, stride 1 or 2; twice
    /// per pass for a signed input.
    func testGroupedConvolutionProducts() {
        let same = Conv2d(name: "c", inChannels: 6, outChannels: 4, kernelSize: 3, padding: 1, groups: 2)
        let record = Record(inputs: [Tensor(shape: [2, 6, 5, 5])], output: Tensor(shape: [2, 4, 5, 5]))
        let strided = Conv2d(name: "s", inChannels: 6, outChannels: 4, kernelSize: 3, stride: 2, padding: 1, groups: 2)
        let halved = Record(inputs: [Tensor(shape: [2, 6, 5, 5])], output: Tensor(shape: [2, 4, 3, 3]))
        XCTAssertEqual(same.forwardMatrixProducts(record), [.gemm(GEMMShape(m: 2, n: 50, k: 27))].repeated(2))
        XCTAssertEqual(strided.forwardMatrixProducts(halved), [.gemm(GEMMShape(m: 2, n: 18, k: 27))].repeated(2))
        for (conv, record, pixels) in [(same, record, 25), (strided, halved, 9)] {
            let backward = conv.backwardMatrixProducts(record)
            XCTAssertEqual(backward.reduce(0) { $0 + $1.flop }, 2 * Double(2 * 4 * pixels) * Double(3 * 3 * 3), conv.name)
            XCTAssertEqual(conv.relevanceMatrixProducts(record), backward.repeated(2), "signed input: W^T S and |W|^T S")
        }
    }

    /// GAE's count per dataset image with 10 steps, as `abslrp evaluate`
    /// runs it: of 16 images, 16 + 4 + 4 + 2*9*4 forwards (the first masking
    /// step once for both orders), 4 + 2*9*4 gradients, 4 + 4 + 2*9*4 maps,
    /// every map on one of those forwards (R0 on the first step's, Rmos on
    /// the mosaics'): the 4% more of session 5's count (12 forwards and 4
    /// gradients per batch) are gone.
    func testGAELimitCountsTheRunsForwardsGradientsAndMaps() {
        let count = ProductCount(forward: 1, relevancePasses: 5, attentionInPasses: 0, shortcutBranchGradients: 2,
                                 inputGradient: 3, winograd: 0)
        let limit = ShapeExactLimit(forwardSecondsPerImage: 0.1, passesSecondsPerImage: 0.4, inputGradientSecondsPerImage: 0.2,
                                    absLRPSecondsPerImage: 0.5, forwardGFLOPS: 0, passesGFLOPS: 0, absLRPGFLOPS: 0,
                                    distinctProducts: 0, measurementSeconds: 0, forwardProducts: [], passProducts: [])
        let gae = GAELimit(steps: 10, count: count, limit: limit)
        XCTAssertEqual(gae.forwardsPerImage, Double(16 + 4 + 4 + 72) / 16)
        XCTAssertEqual(gae.inputGradientsPerImage, Double(4 + 72) / 16)
        XCTAssertEqual(gae.relevanceMapsPerImage, Double(4 + 4 + 72) / 16)
        XCTAssertEqual(gae.mapsOnRecordedForwardsPerImage, gae.relevanceMapsPerImage)
        // the clean forward (1 per image) besides the maps' full products (forward 1 + passes 5 + branches 2 = 8)
        XCTAssertEqual(gae.gflopPerImage, 1.0 + 4.75 * 3 + 5.0 * 8, accuracy: 1e-12)
        let seconds: Double = 1.0 * 0.1 + 4.75 * 0.2 + 5.0 * 0.5
        XCTAssertEqual(gae.limitSecondsPerImage, seconds, accuracy: 1e-12)
        XCTAssertEqual(gae.limitImagesPerSecond, 1 / gae.limitSecondsPerImage, accuracy: 1e-12)
        // one step: the unmasked positives only, measured once
        let one = GAELimit(steps: 1, count: count, limit: limit)
        XCTAssertEqual(one.forwardsPerImage, Double(16 + 4 + 4) / 16)
        XCTAssertEqual(one.inputGradientsPerImage, 4.0 / 16)
        XCTAssertEqual(one.relevanceMapsPerImage, 8.0 / 16)
    }

    /// Wide products are timed as slabs of `slabColumns` that add up to the product.
    func testWideProductsAreTimedInSlabsThatCoverThem() {
        let wide = GEMMShape(transposeA: true, m: 576, n: 4 * 224 * 224, k: 64)
        let slabs = wide.slabs
        XCTAssertEqual(slabs.map(\.shape.n), [GEMMShape.slabColumns, 4 * 224 * 224 % GEMMShape.slabColumns])
        XCTAssertEqual(slabs.reduce(0) { $0 + $1.shape.flop * Double($1.count) }, wide.flop)
        XCTAssertTrue(slabs.allSatisfy { $0.shape.transposeA && $0.shape.m == 576 && $0.shape.k == 64 })
        let small = GEMMShape(m: 64, n: 3136, k: 576)
        XCTAssertEqual(small.slabs.map(\.shape), [small])
    }

    /// Identical shapes are timed once and counted as often as they occur.
    func testTimingTimesEachDistinctShapeOnce() {
        let products: [MatrixProduct] = [.gemm(GEMMShape(m: 8, n: 8, k: 8))].repeated(5) + [.gemm(GEMMShape(transposeA: true, m: 8, n: 8, k: 8))]
        let timed = ProductTiming.time(products, .pair, rounds: 1)
        XCTAssertEqual(timed.map(\.occurrences).sorted(), [1, 5])
        XCTAssertTrue(timed.allSatisfy { $0.seconds > 0 && $0.gflops > 0 })
    }
}

/// The time absLRP would take on this machine, now, if it did nothing but
/// its matrix products, each timed on its exact shape through the kernel the
/// code computes it with (`AbsLRPProducts`, `MatrixProduct`: OpenBLAS's
/// sgemm on the real M, N, K and transposes over the whole batch):
///
///     forward seconds = sum over the forward's products of the faster of:
///                       whole on all cores, or its two halves at once, one
///                       per core
///     passes seconds  = sum over one pass's products (relevance products
///                       and shortcut-branch gradients) of the faster of: two
///                       of them at once, one per core (as our two passes
///                       run), or the two one after the other on all cores
///     absLRP limit    = forward seconds + passes seconds
///
/// (`ProductTiming`). Unlike the honest limit (every FLOP at the peak rate
/// of a 2048^3 product), this one charges each product what its kernel
/// needs for it: thin products (K = 64 in VGG-16's first layers, 7x7 maps,
/// attention's 197 x 64 heads) run below the peak. Everything around the
/// products (im2col, col2im, the elementwise passes) is left out, so our
/// code cannot be faster than this limit (short of changing the products
/// themselves or their kernels).
public struct ShapeExactLimit: Codable, Sendable {
    /// Seconds per image of the forward's products.
    public var forwardSecondsPerImage: Double
    /// Seconds per image of both relevance passes' products.
    public var passesSecondsPerImage: Double
    /// Seconds per image of one input gradient's products, timed as two
    /// gradients like the passes (GAE's MoRF and LeRF steps): half the pair's time.
    public var inputGradientSecondsPerImage: Double
    /// forward + passes: absLRP's limit, seconds per image.
    public var absLRPSecondsPerImage: Double
    /// The forward's GFLOP / its limit seconds.
    public var forwardGFLOPS: Double
    /// Both passes' GFLOP / their limit seconds.
    public var passesGFLOPS: Double
    /// absLRP's GFLOP (`ProductCount.total`) / absLRP's limit seconds.
    public var absLRPGFLOPS: Double
    /// Distinct shapes timed (after slabbing), and how long timing them took.
    public var distinctProducts: Int
    public var measurementSeconds: Double
    /// The forward's and one pass's distinct shapes as timed (for the
    /// passes, each as a pair: both passes' products), slowest in total first.
    public var forwardProducts: [TimedProduct]
    public var passProducts: [TimedProduct]

    /// Times `products` now (seconds to a minute, depending on the model).
    static func measure(_ products: AbsLRPProducts) -> ShapeExactLimit {
        var timed: (forward: [TimedProduct], passes: [TimedProduct], gradient: [TimedProduct]) = ([], [], [])
        let elapsed = ModelBenchmark.time {
            timed = (ProductTiming.time(products.forward, .one), ProductTiming.time(products.pass, .pair),
                     ProductTiming.time(products.inputGradient, .pair))
        }
        let total = { (shapes: [TimedProduct]) in shapes.reduce(0.0) { $0 + $1.totalSeconds } }
        let images = Double(max(1, products.images)), count = products.count
        let (forward, passes) = (total(timed.forward) / images, total(timed.passes) / images)
        return ShapeExactLimit(
            forwardSecondsPerImage: forward, passesSecondsPerImage: passes,
            inputGradientSecondsPerImage: total(timed.gradient) / 2 / images,
            absLRPSecondsPerImage: forward + passes, forwardGFLOPS: count.forward / forward,
            passesGFLOPS: (count.relevancePasses + count.shortcutBranchGradients) / passes,
            absLRPGFLOPS: count.total / (forward + passes),
            distinctProducts: timed.forward.count + timed.passes.count + timed.gradient.count, measurementSeconds: elapsed,
            forwardProducts: timed.forward, passProducts: timed.passes)
    }
}

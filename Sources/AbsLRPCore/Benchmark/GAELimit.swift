/// GAE's matrix products and its limit in images per second, for absLRP as
/// the relevancy method, counted from the spec (section 6), not from how a
/// run batches them. Per GAE batch of `B` images with `steps` masking steps:
///
///     forwards        B (clean) + B/4 (mosaics) + 2 * steps * B/4 (masked, both orders)
///     input gradients 2 * steps * B/4 (the masking maps, both orders)
///     relevance maps  B/4 (R0) + B/4 (Rmos) + 2 * (steps - 1) * B/4 (masked, both orders)
///
/// of which the `2 * (steps - 1) * B/4` masked maps need no forward of their
/// own: they are the inputs of masking steps 1..<steps, whose recorded
/// forwards (counted above) the relevance passes reuse (GAE's
/// `StepwiseMasking.runBothOrders`). So per dataset image (dividing by `B`,
/// which cancels):
///
///     GFLOP   = forwards/B * F + gradients/B * G + maps/B * T - shared/B * F
///     seconds = forwards/B * tF + gradients/B * tG + maps/B * tR - shared/B * tF
///
/// with `F`, `G`, `T` one image's forward, input gradient and absLRP
/// products (forward included; `ProductCount`) and `tF`, `tG`, `tR` their shape-exact limits
/// (`ShapeExactLimit`, measured at the bench's batch, which for GAE's B/4
/// positives at batch 16 is 4).
public struct GAELimit: Codable, Sendable {
    public var steps: Int
    /// Forwards, input gradients and relevance maps per dataset image.
    public var forwardsPerImage: Double
    public var inputGradientsPerImage: Double
    public var relevanceMapsPerImage: Double
    /// Of the relevance maps, those on a masking step's recorded forward
    /// (no forward of their own).
    public var mapsOnMaskingForwardsPerImage: Double
    /// GFLOP per dataset image.
    public var gflopPerImage: Double
    /// Seconds per dataset image at the shape-exact limits.
    public var limitSecondsPerImage: Double
    /// 1 / limitSecondsPerImage.
    public var limitImagesPerSecond: Double

    public init(steps: Int, count: ProductCount, limit: ShapeExactLimit) {
        let orders = 2.0, quarter = 0.25
        self.steps = steps
        forwardsPerImage = 1 + quarter + orders * Double(steps) * quarter
        inputGradientsPerImage = orders * Double(steps) * quarter
        relevanceMapsPerImage = (2 + orders * Double(steps - 1)) * quarter
        mapsOnMaskingForwardsPerImage = orders * Double(steps - 1) * quarter
        gflopPerImage = (forwardsPerImage - mapsOnMaskingForwardsPerImage) * count.forward
            + inputGradientsPerImage * count.inputGradient + relevanceMapsPerImage * count.total
        limitSecondsPerImage = (forwardsPerImage - mapsOnMaskingForwardsPerImage) * limit.forwardSecondsPerImage
            + inputGradientsPerImage * limit.inputGradientSecondsPerImage + relevanceMapsPerImage * limit.absLRPSecondsPerImage
        limitImagesPerSecond = 1 / limitSecondsPerImage
    }
}

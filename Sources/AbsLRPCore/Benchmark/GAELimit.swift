/// GAE's matrix products and its limit in images per second, for absLRP as
/// the relevancy method, counted from the spec (section 6), not from how a
/// run batches them. Per GAE batch of `B` images with `steps` masking steps:
///
///     forwards        B (clean) + B/4 (mosaics) + 2 * steps * B/4 (masked, both orders)
///     input gradients 2 * steps * B/4 (the masking maps, both orders)
///     relevance maps  B/4 (R0) + B/4 (Rmos) + 2 * (steps - 1) * B/4 (masked, both orders)
///
/// so per dataset image (dividing by `B`, which cancels):
///
///     GFLOP   = forwards/B * F + gradients/B * G + maps/B * T
///     seconds = forwards/B * tF + gradients/B * tG + maps/B * tR
///
/// with `F`, `G`, `T` one image's forward, input gradient and absLRP
/// products (`ProductCount`) and `tF`, `tG`, `tR` their shape-exact limits
/// (`ShapeExactLimit`, measured at the bench's batch, which for GAE's B/4
/// positives at batch 16 is 4).
public struct GAELimit: Codable, Sendable {
    public var steps: Int
    /// Forwards, input gradients and relevance maps per dataset image.
    public var forwardsPerImage: Double
    public var inputGradientsPerImage: Double
    public var relevanceMapsPerImage: Double
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
        gflopPerImage = forwardsPerImage * count.forward + inputGradientsPerImage * count.inputGradient
            + relevanceMapsPerImage * count.total
        limitSecondsPerImage = forwardsPerImage * limit.forwardSecondsPerImage
            + inputGradientsPerImage * limit.inputGradientSecondsPerImage + relevanceMapsPerImage * limit.absLRPSecondsPerImage
        limitImagesPerSecond = 1 / limitSecondsPerImage
    }
}

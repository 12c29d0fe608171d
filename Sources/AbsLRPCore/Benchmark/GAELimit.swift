/// GAE's matrix products and its limit in images per second, for absLRP as
/// the relevancy method: the work of the spec (section 6) as `abslrp
/// evaluate` runs it, every forward once (GAE's `evaluateBatch`). Per GAE
/// batch of `B` images with `M = B/4` positives and `steps` masking steps:
///
///     forwards        B (clean) + M (mosaics) + M (the masking's first step,
///                     common to both orders) + 2 * (steps - 1) * M (masked, both orders)
///     input gradients M + 2 * (steps - 1) * M (the masking maps)
///     relevance maps  M (R0) + M (Rmos) + 2 * (steps - 1) * M (masked, both orders)
///
/// Every relevance map runs its passes on a forward counted above, recorded
/// once: R0 on the first step's, Rmos on the mosaics', the masked maps on
/// their steps' (`StepwiseMasking.runBothOrders`). So per dataset image
/// (dividing by `B`, which cancels):
///
///     GFLOP   = (forwards - maps)/B * F + gradients/B * G + maps/B * T
///     seconds = (forwards - maps)/B * tF + gradients/B * tG + maps/B * tR
///
/// with `F`, `G`, `T` one image's forward, input gradient and absLRP
/// products (forward included; `ProductCount`) and `tF`, `tG`, `tR` their shape-exact limits
/// (`ShapeExactLimit`, measured at the bench's batch, which for GAE's B/4
/// positives at batch 16 is 4). `forwards - maps = B`: only the clean
/// forward is charged besides the maps.
public struct GAELimit: Codable, Sendable {
    public var steps: Int
    /// Forwards, input gradients and relevance maps per dataset image.
    public var forwardsPerImage: Double
    public var inputGradientsPerImage: Double
    public var relevanceMapsPerImage: Double
    /// Of the relevance maps, those on a forward the run records anyway (no
    /// forward of their own): all of them.
    public var mapsOnRecordedForwardsPerImage: Double
    /// GFLOP per dataset image.
    public var gflopPerImage: Double
    /// Seconds per dataset image at the shape-exact limits.
    public var limitSecondsPerImage: Double
    /// 1 / limitSecondsPerImage.
    public var limitImagesPerSecond: Double

    public init(steps: Int, count: ProductCount, limit: ShapeExactLimit) {
        let quarter = 0.25, maskedPerOrder = Double(steps - 1)
        self.steps = steps
        forwardsPerImage = 1 + quarter + quarter + 2 * maskedPerOrder * quarter
        inputGradientsPerImage = (1 + 2 * maskedPerOrder) * quarter
        relevanceMapsPerImage = (2 + 2 * maskedPerOrder) * quarter
        mapsOnRecordedForwardsPerImage = relevanceMapsPerImage
        let ownForwards = forwardsPerImage - mapsOnRecordedForwardsPerImage
        gflopPerImage = ownForwards * count.forward + inputGradientsPerImage * count.inputGradient
            + relevanceMapsPerImage * count.total
        limitSecondsPerImage = ownForwards * limit.forwardSecondsPerImage
            + inputGradientsPerImage * limit.inputGradientSecondsPerImage + relevanceMapsPerImage * limit.absLRPSecondsPerImage
        limitImagesPerSecond = 1 / limitSecondsPerImage
    }
}

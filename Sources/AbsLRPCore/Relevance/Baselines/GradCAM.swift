/// Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep
/// Networks via Gradient-based Localization"), as Captum's `LayerGradCam`
/// followed by `LayerAttribution.interpolate`:
///
///     A    = feature map of the last convolutional stage      (B, K, h, w)
///     G    = ∂ f_t / ∂ A                                       (B, K, h, w)
///     a_k  = mean_{i,j} G[k, i, j]                             (B, K)
///     cam  = ReLU(sum_k a_k A[k])                              (B, h, w)
///     attribution = cam upsampled bilinearly (align_corners=False) to
///                   H x W and repeated over the C input channels
///
/// The feature map is the family's (``ModelFamily/gradCAMFeatureLayer(in:)``),
/// where the Grad-CAM paper and pytorch-grad-cam read it:
/// - VGG: the output of the last ReLU of `features`, i.e. the input of the
///   final max pool (the paper's `relu5_3` for VGG-16, one pooling step finer
///   than pytorch-grad-cam's suggested `features[-1]`). Every timm VGG ends its
///   features with that pool; a custom `cfg` that does not is refused.
/// - ResNet: the output of `layer4` (pytorch-grad-cam's `model.layer4[-1]`),
///   i.e. the input of `global_pool.pool`.
///
/// `A` is that module's recorded input and `G` the gradient traced at it.
/// Vision Transformers have no convolutional feature map: refused.
public final class GradCAM: AttributionMethod {
    public let name = "gradcam"
    public let classifier: Classifier
    /// The layer whose recorded input is the feature map `A`.
    private let site: Layer

    public init(classifier: Classifier) throws {
        self.classifier = classifier
        site = try classifier.configuration.architecture.family.gradCAMFeatureLayer(in: classifier.network)
    }

    /// The (h, w) of the feature map `A` for input `x` (B, C, H, W); a 1x1
    /// map makes every Grad-CAM map constant (``LocalisationWarning``).
    public func featureMapSize(for x: Tensor) throws -> [Int] {
        let record = try recordBatch(x, targets: nil).tape.record(for: site).inputs[0]
        return Array(record.shape.suffix(2))
    }

    /// Said when the feature map is 1x1: every map is then constant.
    public func constantMapReason(for input: Tensor) -> String? {
        guard let size = try? featureMapSize(for: input), size == [1, 1] else { return nil }
        return "Grad-CAM's last feature map is 1x1 for a \(input.shape[2])x\(input.shape[3]) input "
            + "of \(classifier.configuration.name)"
    }

    public func attribute(_ x: Tensor, targets: [Int]?) throws -> Attribution {
        let batch = try recordBatch(x, targets: targets)
        let gradient = targetGradient(batch, traces: true).traces[site.name]!
        let features = batch.tape.record(for: site).inputs[0]
        let (b, k, h, w) = (features.shape[0], features.shape[1], features.shape[2], features.shape[3])
        let plane = h * w
        var cam = Tensor(shape: [b, h, w])
        for i in 0..<b {
            for c in 0..<k {
                let base = (i * k + c) * plane
                let weight = gradient.storage[base..<(base + plane)].reduce(0, +) / Float(plane)
                for p in 0..<plane { cam.storage[i * plane + p] += weight * features.storage[base + p] }
            }
        }
        return Attribution(batch, cam.map { max($0, 0) }.spreadOverInput(shape: x.shape))
    }
}

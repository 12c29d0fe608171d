/// Whether a method's maps depend on the class they explain (the check of
/// Sixt, Granz & Landgraf 2020, "When Explanations Lie: Why Many Modified BP
/// Attributions Fail", and Nie et al. 2018): each image is explained for the
/// class the model predicts and for the class it finds least likely
/// (smallest logit), and the two maps are compared per image:
///
/// - Spearman's rank correlation of the pixel magnitudes `sum_c |r|` (as
///   ``ModelRandomization``), and
/// - the cosine similarity of the signed maps (B, C, H, W flattened per image),
///
/// averaged over the images. A method passes when its mean Spearman
/// correlation is below `threshold`: the maps for the two classes differ.
/// Class-agnostic methods such as attention rollout give 1.
public struct ClassSensitivity {
    public let methods: [RelevancyMethod]
    /// Images per relevance call.
    public let batchSize: Int
    /// Highest mean Spearman correlation that still counts as "different maps".
    public let threshold: Double

    public init(methods: [RelevancyMethod], batchSize: Int = 8, threshold: Double = 0.9) {
        self.methods = methods; self.batchSize = batchSize; self.threshold = threshold
    }

    /// Runs the check on `images` (N, C, H, W), preprocessed for the model.
    public func run(_ images: Tensor) throws -> ClassSensitivityReport {
        let classifier = try validatedSanityCheck(methods: methods, images: images, batchSize: batchSize)
        let logits = classifier.logits(images, batchSize: batchSize)
        let top = logits.argmaxRows(), least = logits.map { -$0 }.argmaxRows()
        let n = images.sampleCount
        let entries = try methods.map { method -> ClassSensitivityReport.Entry in
            let (a, b) = (try method.relevance(images, targets: top, batchSize: batchSize),
                          try method.relevance(images, targets: least, batchSize: batchSize))
            let spearman = zip(MapSimilarity.pixelMagnitudes(a), MapSimilarity.pixelMagnitudes(b)).map {
                MapSimilarity.spearman($0, $1)
            }
            let cosine = (0..<images.shape[0]).map { i in
                MapSimilarity.cosine(a.storage[(i * n)..<((i + 1) * n)], b.storage[(i * n)..<((i + 1) * n)])
            }
            let mean = MeanAndDeviation(spearman)
            return .init(method: method.name, spearman: mean, cosine: MeanAndDeviation(cosine), passes: mean.mean < threshold)
        }
        return ClassSensitivityReport(model: classifier.configuration.name, images: images.shape[0],
                                      threshold: threshold, methods: entries)
    }
}

/// The outcome of ``ClassSensitivity``.
public struct ClassSensitivityReport: Codable, Equatable, Sendable {
    public var model: String
    public var images: Int
    public var threshold: Double
    public var methods: [Entry]

    /// One method: similarity of its top-class and least-likely-class maps.
    public struct Entry: Codable, Equatable, Sendable {
        public var method: String
        /// Spearman correlation of the pixel magnitudes, over the images.
        public var spearman: MeanAndDeviation
        /// Cosine similarity of the signed maps, over the images.
        public var cosine: MeanAndDeviation
        /// `spearman.mean < threshold`.
        public var passes: Bool
    }
}

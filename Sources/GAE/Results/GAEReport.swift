/// Everything a GAE run produces, as written to `results.json`.
///
/// Data-set indices are positions in the data set (0-based), batches are
/// numbered in the seeded order over the whole data set, so the reports of
/// the shards of one run fit together (``merge(_:)``).
public struct GAEReport: Codable, Equatable, Sendable {
    public var settings: GAESettings
    /// The batches evaluated, in batch order.
    public var batches: [GAEBatchRecord]
    /// One entry per positive image and method: batch after batch, mosaic
    /// after mosaic, methods in the order given.
    public var results: [GAEImageResult]
    /// One entry per method, in the order given.
    public var summary: [GAEMethodSummary]
    public var throughput: GAEThroughput

    public init(settings: GAESettings, batches: [GAEBatchRecord], results: [GAEImageResult],
                throughput: GAEThroughput) {
        self.settings = settings
        self.batches = batches
        self.results = results
        self.summary = settings.methods.map { method in
            GAEMethodSummary(method: method, results: results.filter { $0.method == method })
        }
        self.throughput = throughput
    }
}

/// The settings a report was made with.
public struct GAESettings: Codable, Equatable, Sendable {
    /// The model's configuration name.
    public var model: String
    /// The methods' names, in evaluation order.
    public var methods: [String]
    public var batchSize: Int
    /// Masking steps.
    public var steps: Int
    /// The sampling seed (nil for a replayed sampling).
    public var seed: UInt64?
    public var pairing: PositivePairing
    public var shard: Shard
    /// The data set's name and size.
    public var dataset: String
    public var datasetCount: Int
    /// True when the images after the last full batch were scored in a
    /// smaller final batch (``GAEConfiguration/keepLast``); absent otherwise.
    public var keepLast: Bool?
    /// The data-set indices of the images in no batch (absent when none).
    public var leftover: [Int]?
    /// How an ImageFolder's folders became labels (absent for other data sets).
    public var labelMapping: LabelMapping?

    public init(model: String, methods: [String], batchSize: Int, steps: Int, seed: UInt64?,
                pairing: PositivePairing, shard: Shard, dataset: String, datasetCount: Int) {
        self.model = model; self.methods = methods; self.batchSize = batchSize; self.steps = steps
        self.seed = seed; self.pairing = pairing; self.shard = shard
        self.dataset = dataset; self.datasetCount = datasetCount
    }

    enum CodingKeys: String, CodingKey {
        case model, methods, steps, seed, pairing, shard, dataset
        case batchSize = "batch_size", datasetCount = "dataset_count", keepLast = "keep_last", leftover
        case labelMapping = "label_mapping"
    }
}

extension GAESettings {
    /// The data set's name for titles: a file path shortened to its file
    /// name (`t10k-images-idx3-ubyte.gz[0..<512]`); the settings keep it whole.
    public var datasetTitle: String {
        dataset.hasPrefix("/") ? String(dataset.split(separator: "/").last ?? Substring(dataset)) : dataset
    }
    /// The full batches' count, `dataset_count / batch_size`.
    public var fullBatches: Int { datasetCount / batchSize }
    /// Images of the final smaller batch with `keep_last`: the remainder
    /// rounded down to a multiple of 4; 0 without.
    public var finalBatchSize: Int { keepLast == true ? (datasetCount % batchSize) / 4 * 4 : 0 }
    /// Batches of the whole run (shards split them).
    public var batchCount: Int { fullBatches + (finalBatchSize > 0 ? 1 : 0) }
    /// Images in batch `k` (`0 ..< batchCount`).
    public func size(ofBatch k: Int) -> Int { k < fullBatches ? batchSize : finalBatchSize }
    /// Images the whole run scores.
    public var scoredImages: Int { fullBatches * batchSize + finalBatchSize }
}

/// One batch: its number and its data-set indices in batch order.
public struct GAEBatchRecord: Codable, Equatable, Sendable {
    public var batch: Int
    public var indices: [Int]

    public init(batch: Int, indices: [Int]) {
        self.batch = batch
        self.indices = indices
    }
}

/// The scores of one positive image under one method.
public struct GAEImageResult: Codable, Equatable, Sendable {
    public var method: String
    /// The batch number.
    public var batch: Int
    /// Data-set index of the positive image.
    public var index: Int
    /// Data-set indices of the tiles of the mosaic explained for this
    /// positive's class: top-left, top-right, bottom-left, bottom-right.
    public var mosaic: [Int]
    /// The positive's data-set label and the model's prediction (the explained class).
    public var label: Int
    public var prediction: Int
    public var faithfulness: Float
    public var robustness: Float
    public var localConsistency: Float
    public var contrastiveness: Float
    public var gae: Float
    /// Whether the method's map of the positive (`normalize_max(relu(R))`)
    /// is constant: it localises nothing (``LocalisationWarning``).
    public var constantMap: Bool
    /// Where the positive image came from (its file, or `file[index]`: the
    /// data set's ``GAEDataset/itemName(at:)``); absent in older files.
    public var source: String?

    public init(method: String, batch: Int, index: Int, mosaic: [Int], label: Int, prediction: Int,
                scores: GAEScores, constantMap: Bool = false, source: String? = nil) {
        self.method = method; self.batch = batch; self.index = index; self.mosaic = mosaic; self.source = source
        self.label = label; self.prediction = prediction; self.constantMap = constantMap
        faithfulness = scores.faithfulness; robustness = scores.robustness
        localConsistency = scores.localConsistency; contrastiveness = scores.contrastiveness; gae = scores.gae
    }

    /// The five scores.
    public var scores: GAEScores {
        GAEScores(faithfulness: faithfulness, robustness: robustness, localConsistency: localConsistency,
                  contrastiveness: contrastiveness, gae: gae)
    }

    enum CodingKeys: String, CodingKey {
        case method, batch, index, mosaic, label, prediction, faithfulness, robustness, contrastiveness, gae
        case localConsistency = "local_consistency", constantMap = "constant_map", source
    }

    /// Reads a result; files written before `constant_map` existed read as `false`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(String.self, forKey: .method)
        batch = try c.decode(Int.self, forKey: .batch)
        index = try c.decode(Int.self, forKey: .index)
        mosaic = try c.decode([Int].self, forKey: .mosaic)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        label = try c.decode(Int.self, forKey: .label)
        prediction = try c.decode(Int.self, forKey: .prediction)
        faithfulness = try c.decode(Float.self, forKey: .faithfulness)
        robustness = try c.decode(Float.self, forKey: .robustness)
        localConsistency = try c.decode(Float.self, forKey: .localConsistency)
        contrastiveness = try c.decode(Float.self, forKey: .contrastiveness)
        gae = try c.decode(Float.self, forKey: .gae)
        constantMap = try c.decodeIfPresent(Bool.self, forKey: .constantMap) ?? false
    }
}

/// The summary of one method: mean and 95% confidence interval of each score.
public struct GAEMethodSummary: Codable, Equatable, Sendable {
    public var method: String
    /// Number of positive images.
    public var count: Int
    public var faithfulness: GAEStatistic
    public var robustness: GAEStatistic
    public var localConsistency: GAEStatistic
    public var contrastiveness: GAEStatistic
    public var gae: GAEStatistic
    /// Positive images whose map was constant: the method could not localise them.
    public var constantMaps: Int

    /// The summary of `results` (all of one method).
    public init(method: String, results: [GAEImageResult]) {
        self.method = method
        count = results.count
        constantMaps = results.filter(\.constantMap).count
        faithfulness = GAEStatistic(results.map(\.faithfulness))
        robustness = GAEStatistic(results.map(\.robustness))
        localConsistency = GAEStatistic(results.map(\.localConsistency))
        contrastiveness = GAEStatistic(results.map(\.contrastiveness))
        gae = GAEStatistic(results.map(\.gae))
    }

    /// The warning for a method with constant maps, or nil.
    public var localisationWarning: String? {
        constantMaps == 0 ? nil
            : "warning: \(method) gave a constant map for \(constantMaps) of \(count) positive images: it cannot localise them"
    }

    enum CodingKeys: String, CodingKey {
        case method, count, faithfulness, robustness, contrastiveness, gae
        case localConsistency = "local_consistency", constantMaps = "constant_maps"
    }

    /// Reads a summary; files written before `constant_maps` existed read as 0.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(String.self, forKey: .method)
        count = try c.decode(Int.self, forKey: .count)
        faithfulness = try c.decode(GAEStatistic.self, forKey: .faithfulness)
        robustness = try c.decode(GAEStatistic.self, forKey: .robustness)
        localConsistency = try c.decode(GAEStatistic.self, forKey: .localConsistency)
        contrastiveness = try c.decode(GAEStatistic.self, forKey: .contrastiveness)
        gae = try c.decode(GAEStatistic.self, forKey: .gae)
        constantMaps = try c.decodeIfPresent(Int.self, forKey: .constantMaps) ?? 0
    }
}

/// How fast the run went. Merged reports add the shards' images and seconds.
public struct GAEThroughput: Codable, Equatable, Sendable {
    /// Data-set images evaluated (batches times batch size).
    public var images: Int
    /// Wall-clock seconds of the evaluation (loading images included).
    public var seconds: Double

    public init(images: Int, seconds: Double) {
        self.images = images
        self.seconds = seconds
    }

    /// `images / seconds`.
    public var imagesPerSecond: Double { seconds > 0 ? Double(images) / seconds : 0 }

    enum CodingKeys: String, CodingKey {
        case images, seconds
        case imagesPerSecond = "images_per_second"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        images = try c.decode(Int.self, forKey: .images)
        seconds = try c.decode(Double.self, forKey: .seconds)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(images, forKey: .images)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
    }
}

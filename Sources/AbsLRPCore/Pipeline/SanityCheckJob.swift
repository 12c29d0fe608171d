import Foundation

/// Sanity checks of relevancy methods on one model (`abslrp check`):
/// cascading model randomisation (Adebayo et al.) and class sensitivity over
/// a batch of images or a preprocessed tensor, written as one run's outputs
/// (``RunOutput``): `report.json`, the randomisation plot, the map grids and
/// `index.html` (``CheckReport``). The model's weights are restored after
/// the randomisation; nothing is written to a weights file.
public struct SanityCheckJob {
    public var source: ExplainJob.Source
    /// The methods to check, all on the same classifier.
    public var methods: [RelevancyMethod]
    public var batchSize: Int
    /// Seed of the random weights.
    public var seed: UInt64
    /// Images shown in the map grids.
    public var gridImages: Int
    public var outputDirectory: URL
    public var maxPixels: Int
    public var preprocessing: Preprocessing

    public init(source: ExplainJob.Source, methods: [RelevancyMethod], batchSize: Int = 8, seed: UInt64 = 0,
                gridImages: Int = 2, outputDirectory: URL, maxPixels: Int = RGBImage.defaultMaxPixels,
                preprocessing: Preprocessing = .reference) {
        self.source = source; self.methods = methods; self.batchSize = batchSize; self.seed = seed
        self.gridImages = gridImages; self.outputDirectory = outputDirectory; self.maxPixels = maxPixels
        self.preprocessing = preprocessing
    }

    /// Everything the check found, as `report.json` holds it.
    public struct Report: Encodable {
        public var modelRandomization: ModelRandomizationReport
        public var classSensitivity: ClassSensitivityReport
    }

    /// What a run produced: the findings, the report with its figures, and where they are.
    public struct Result {
        public var report: Report
        public var check: CheckReport
        public var images: Int
        public var reportFile: URL
        public var page: URL
    }

    /// Runs the checks; `progress` hears each randomisation step.
    public func run(progress: (String) -> Void = { _ in }) throws -> Result {
        guard let classifier = methods.first?.classifier else { throw SanityCheckJobError.noMethods }
        precondition(batchSize > 0 && gridImages >= 0)
        let output = try RunOutput(folder: outputDirectory)
        let input: Tensor, imageNames: [String]
        switch source {
        case .tensorFile(let url):
            input = try SafetensorsFile(contentsOf: url).tensor("input")
            imageNames = (0..<input.shape[0]).map { String(format: "sample_%03d", $0) }
        case .images(let urls):
            guard !urls.isEmpty else { throw ExplainJobError.noInputs }
            input = try InputImages.load(urls, preprocessing: try classifier.configuration.preprocessing(preprocessing),
                                         maxPixels: maxPixels)
            imageNames = urls.map(\.lastPathComponent)
        }
        try classifier.validateInput(input)

        let maps = CheckReport.Maps(shown: min(gridImages, input.shape[0]), methods: methods.count)
        let randomization = try ModelRandomization(methods: methods, batchSize: batchSize, seed: seed)
            .run(input, maps: maps.record, progress: progress)
        let sensitivity = try ClassSensitivity(methods: methods, batchSize: batchSize).run(input)

        let report = Report(modelRandomization: randomization, classSensitivity: sensitivity)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let reportFile = try output.write(encoder.encode(report), as: "report.json")
        let display = (try? classifier.configuration.preprocessing(preprocessing)) ?? classifier.configuration.displayPreprocessing
        let shown = (0..<maps.shown).map { i in
            (imageNames[i], RGBImage(tensor: display.denormalize(
                input.batchSlice(i..<(i + 1)).reshaped(Array(input.shape.dropFirst())))))
        }
        let check = CheckReport(randomization: randomization, sensitivity: sensitivity, maps: maps, images: shown)
        try check.write(to: output.staging)
        try output.commit()
        return Result(report: report, check: check, images: input.shape[0], reportFile: reportFile,
                      page: output.folder.appendingPathComponent(HTMLPage.fileName))
    }
}

/// A sanity check that cannot run.
public enum SanityCheckJobError: Error, CustomStringConvertible, Equatable {
    case noMethods

    public var description: String { "no methods to check" }
}

import Foundation

/// Explains a set of images or a preprocessed batch with one method, in
/// batches, and writes the pictures and the relevance file.
///
/// Pictures: per image and target, `OUT/<stem>.<model>.<method>.class<k>.png`
/// (so runs with another model, method or target never overwrite each
/// other), a ``HeatmapFigure``: a title line
/// (image, model, method, class name and index, probability), the
/// de-normalised input beside its seismic heatmap (as the reference's
/// `visualize_batch`) or the heatmap over the image (`overlay`), and the
/// colour bar. A constant map is drawn white and flagged, and reported as a
/// ``LocalisationWarning`` in the result. Relevance file: a safetensors file with
/// `input`, `logits`, `target` (I64), `relevance`, and `relevance_NAME` for
/// each of the method's extras (absLRP: `relevance_positive` and
/// `relevance_negative`, named as in the fixtures), one row per (image,
/// target), and the metadata `sources`: a JSON list of the file (or
/// `tensor[i]`) each row came from. Everything comes from the method's one
/// `Explanation` per batch and target (its forward's logits too).
///
/// With an output folder the run also writes `index.html` (``ExplainReport``).
/// The pictures, the page and the relevance file are one run's outputs (``RunOutput``):
/// they appear together once every batch has been explained and written, or,
/// when anything fails, not at all, and earlier files stay as they were.
public struct ExplainJob {
    /// What to explain.
    public enum Source {
        case images([URL])
        /// A safetensors file whose `input` tensor (B, C, H, W) is preprocessed.
        case tensorFile(URL)
    }

    /// Which classes each image is explained for.
    public enum TargetSelection: Equatable, Sendable {
        /// Each image's most probable class.
        case predicted
        /// These classes for every image, in order.
        case classes([Int])
        /// Each image's `k` most probable classes, best first.
        case topK(Int)
    }

    public var source: Source
    public var method: RelevancyMethod
    public var targets: TargetSelection
    public var batchSize: Int
    public var outputDirectory: URL?
    public var overlay: Bool
    public var relevanceFile: URL?
    public var maxPixels: Int
    /// The pipeline that prepares image files (unused for a tensor file).
    public var preprocessing: Preprocessing

    /// `target` is shorthand for `targets: .classes([target])`.
    public init(source: Source, method: RelevancyMethod, target: Int? = nil, targets: TargetSelection? = nil,
                batchSize: Int = 8, outputDirectory: URL? = nil, overlay: Bool = false, relevanceFile: URL? = nil,
                maxPixels: Int = RGBImage.defaultMaxPixels, preprocessing: Preprocessing = .reference) {
        self.source = source; self.method = method; self.batchSize = batchSize
        self.targets = targets ?? target.map { .classes([$0]) } ?? .predicted
        self.outputDirectory = outputDirectory; self.overlay = overlay; self.relevanceFile = relevanceFile
        self.maxPixels = maxPixels; self.preprocessing = preprocessing
    }

    /// One explained (image, target): the job's list of outputs.
    public struct Result {
        public var name: String
        /// The image file (or `tensor file[i]`) it came from.
        public var source: String
        public var predictions: [Prediction]
        public var target: Int
        public var picture: URL?
        /// Set when the method's map of this image is constant.
        public var warning: LocalisationWarning?
    }

    /// Runs the job; `progress(done, total)` (images) after every batch.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> [Result] {
        let classifier = method.classifier
        guard batchSize > 0 else { throw ExplainJobError.invalidBatchSize(batchSize) }
        let preprocessing: PreprocessingConfig
        if case .images = source {
            preprocessing = try classifier.configuration.preprocessing(self.preprocessing)
        } else {
            preprocessing = classifier.configuration.displayPreprocessing
        }
        let output = try outputDirectory.map { try RunOutput(folder: $0) }
        let relevanceStaged = try relevanceFile.map { file -> URL in
            if let output { return try output.stagedURL(external: file) }
            try RunOutput.prepareFileDestination(file)
            return file
        }

        let names: [String], count: Int, displayNames: [String], sources: [String]
        var tensorInput: Tensor?
        switch source {
        case .images(let urls):
            guard !urls.isEmpty else { throw ExplainJobError.noInputs }
            names = Self.uniqueStems(urls)
            displayNames = urls.map(\.lastPathComponent)
            sources = urls.map(\.path)
            count = urls.count
        case .tensorFile(let url):
            let input = try SafetensorsFile(contentsOf: url).tensor("input")
            try classifier.validateInput(input, name: "tensor 'input' of \(url.path)")
            tensorInput = input
            count = input.shape[0]
            names = (0..<count).map { String(format: "sample_%03d", $0) }
            displayNames = names
            sources = (0..<count).map { "\(url.path)[\($0)]" }
        }
        switch targets {
        case .predicted: break
        case .classes(let classes):
            guard !classes.isEmpty else { throw ExplainJobError.noTargets }
            for t in classes where t < 0 || t >= classifier.numClasses {
                throw ClassifierInputError.targetOutOfRange(target: t, classes: classifier.numClasses)
            }
        case .topK(let k):
            guard (1...classifier.numClasses).contains(k) else { throw ExplainJobError.invalidTopK(k, classes: classifier.numClasses) }
        }
        let model = Self.fileNamePart(classifier.configuration.name), methodPart = Self.fileNamePart(method.name)

        var results: [Result] = []
        var saved: [String: [Tensor]] = [:]
        var savedTargets: [Int] = [], savedSources: [String] = []
        for start in stride(from: 0, to: count, by: batchSize) {
            let range = start..<min(start + batchSize, count)
            let x: Tensor
            switch source {
            case .images(let urls): x = try InputImages.load(Array(urls[range]), preprocessing: preprocessing, maxPixels: maxPixels)
            case .tensorFile: x = tensorInput!.batchSlice(range)
            }
            try classifier.validateInput(x)
            /// The method's explanation of the batch for `passTargets` (nil: each image's argmax), checked finite.
            func explain(_ passTargets: [Int]?) throws -> Explanation {
                let e = try method.explain(x, targets: passTargets)
                try method.requireFiniteRelevance(e.relevance, input: x, targets: passTargets)
                return e
            }
            /// The pictures, results and saved rows of one explanation.
            func record(_ e: Explanation) throws {
                let (logits, relevance, explained) = (e.logits, e.relevance, e.targets)
                if relevanceStaged != nil {
                    for (name, map) in e.extras { saved["relevance_\(name)", default: []].append(map) }
                    saved["input", default: []].append(x)
                    saved["logits", default: []].append(logits)
                    saved["relevance", default: []].append(relevance)
                    savedTargets += explained
                    savedSources += sources[range]
                }
                let predictions = classifier.topPredictions(logits)
                let probabilities = classifier.topPredictions(logits, k: classifier.numClasses)
                for (i, index) in range.enumerated() {
                    let sample = x.batchSlice(i..<(i + 1)), map = relevance.batchSlice(i..<(i + 1))
                    let summed = SummedRelevance(map.reshaped(Array(map.shape.dropFirst())))
                    let warning = LocalisationWarning.check(summed, method: method, image: displayNames[index], input: sample)
                    var picture: URL?
                    if let output {
                        let url = try output.stagedURL("\(names[index]).\(model).\(methodPart).class\(explained[i]).png")
                        let caption = HeatmapFigure.Caption(
                            imageName: displayNames[index], model: classifier.configuration.name, method: method.name,
                            className: classifier.configuration.labelName(explained[i]), classIndex: explained[i],
                            probability: probabilities[i].first { $0.classIndex == explained[i] }?.probability)
                        try render(input: sample, relevance: map, preprocessing: preprocessing, caption: caption).writePNG(to: url)
                        picture = output.destination(of: url)
                    }
                    results.append(Result(name: names[index], source: sources[index], predictions: predictions[i],
                                          target: explained[i], picture: picture, warning: warning))
                }
            }
            // The first pass: each image's argmax (also the top 1), or the first listed class.
            let repeated = { (c: Int) in Array(repeating: c, count: range.count) }
            var first: [Int]?
            if case .classes(let classes) = targets { first = repeated(classes[0]) }
            let e = try explain(first)
            try record(e)
            // The others: the further listed classes, or the top K's ranks 2...K from the first pass's logits.
            switch targets {
            case .predicted: break
            case .classes(let classes): for c in classes.dropFirst() { try record(try explain(repeated(c))) }
            case .topK(let k):
                let ranked = classifier.topPredictions(e.logits, k: k)
                for j in 1..<k { try record(try explain(ranked.map { $0[j].classIndex })) }
            }
            progress(range.upperBound, count)
        }
        if let file = relevanceStaged {
            let tensors = saved.mapValues { Tensor.concatenateBatch($0) }
            try SafetensorsWriter.write(
                tensors: tensors, integers: ["target": (shape: [savedTargets.count], values: savedTargets)],
                metadata: ["method": method.name, "model": classifier.configuration.name,
                           "sources": Self.jsonList(savedSources)], to: file)
        }
        if let output {
            var settings = [("images", "\(count)"), ("batch size", "\(batchSize)"),
                            ("picture", overlay ? "heatmap over the input" : "input beside the heatmap")]
            if let file = relevanceFile { settings.append(("relevance file", file.path)) }
            let page = ExplainReport.page(results, folder: output.folder, model: classifier.configuration.name,
                                          method: method.name, settings: settings)
            try output.write(page.data, as: HTMLPage.fileName)
            try output.commit()
        }
        return results
    }

    /// The picture of one sample (batch of one): the ``HeatmapFigure``, rasterised.
    private func render(input: Tensor, relevance: Tensor, preprocessing: PreprocessingConfig,
                        caption: HeatmapFigure.Caption) throws -> RGBImage {
        let sample = input.reshaped(Array(input.shape.dropFirst()))
        let image = RGBImage(tensor: preprocessing.denormalize(sample))
        return try HeatmapFigure.svg(input: image, relevance: relevance.reshaped(Array(relevance.shape.dropFirst())),
                                     caption: caption, overlay: overlay).rasterized()
    }

    /// A JSON array of strings.
    static func jsonList(_ items: [String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: items, options: [.withoutEscapingSlashes])) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// `name` with characters other than letters, digits, `-`, `_` and `.` replaced by `_`.
    static func fileNamePart(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }

    /// File stems, made unique with a numeric suffix where two inputs share one.
    static func uniqueStems(_ urls: [URL]) -> [String] {
        var seen: [String: Int] = [:]
        return urls.map { url in
            let stem = url.deletingPathExtension().lastPathComponent
            let n = seen[stem, default: 0]
            seen[stem] = n + 1
            return n == 0 ? stem : "\(stem)_\(n)"
        }
    }
}

/// An explain job that cannot run.
public enum ExplainJobError: Error, CustomStringConvertible, Equatable {
    case noInputs
    /// A folder named on the command line holds no image file at its top level.
    case noImagesInFolder(String)
    case invalidBatchSize(Int)
    case noTargets
    case invalidTopK(Int, classes: Int)

    public var description: String {
        switch self {
        case .noInputs: return "no images to explain: name image files or folders, or --tensor FILE"
        case .noImagesInFolder(let path):
            return "\(path) holds no \(InputImages.extensions.sorted().joined(separator: "/")) file "
                + "(folders are not searched recursively: name the subfolders)"
        case .invalidBatchSize(let b): return "the batch size must be at least 1, got \(b)"
        case .noTargets: return "no target classes given"
        case .invalidTopK(let k, let classes): return "top-k must be between 1 and the model's \(classes) classes, got \(k)"
        }
    }
}

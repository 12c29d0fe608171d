import Foundation

/// The outputs of `abslrp check` besides `report.json`: the randomisation
/// curves (`plot.svg`/`.png`, ``LineChart``), Adebayo et al.'s map grid per
/// shown image (`randomization_<image>.svg`/`.png`,
/// ``RandomizationGridFigure``), and `index.html` with both, the class
/// sensitivity table, the settings and a warning for every method whose
/// maps of the trained model are constant.
public struct CheckReport {
    public var randomization: ModelRandomizationReport
    public var sensitivity: ClassSensitivityReport
    public var maps: Maps
    /// The shown images as pictures, with their names.
    public var images: [(name: String, picture: RGBImage)]

    public init(randomization: ModelRandomizationReport, sensitivity: ClassSensitivityReport, maps: Maps,
                images: [(name: String, picture: RGBImage)]) {
        self.randomization = randomization; self.sensitivity = sensitivity; self.maps = maps; self.images = images
    }

    /// Collects the maps ``ModelRandomization`` computes: every step's maps
    /// of the first `shown` images (for the grids) and, at step 0 (the
    /// trained model), which images' maps are constant.
    public final class Maps {
        public let shown: Int
        /// `grid[image][method][step]`, (C, H, W).
        public private(set) var grid: [[[Tensor]]]
        /// `constant[method]`: images whose trained-model map is constant.
        public private(set) var constant: [Int]

        public init(shown: Int, methods: Int) {
            self.shown = shown
            grid = Array(repeating: Array(repeating: [], count: methods), count: shown)
            constant = Array(repeating: 0, count: methods)
        }

        /// Pass as ``ModelRandomization/run(_:maps:progress:)``'s `maps`.
        public func record(step: Int, method: Int, relevance: Tensor) {
            let sampleShape = Array(relevance.shape.dropFirst())
            for i in 0..<min(shown, relevance.shape[0]) {
                grid[i][method].append(relevance.batchSlice(i..<(i + 1)).reshaped(sampleShape))
            }
            if step == 0 {
                constant[method] = (0..<relevance.shape[0]).filter {
                    SummedRelevance(relevance.batchSlice($0..<($0 + 1)).reshaped(sampleShape)).isConstant
                }.count
            }
        }
    }

    /// One warning per method whose trained-model maps are constant.
    public var warnings: [String] {
        zip(randomization.methods, maps.constant).compactMap { curve, count in
            count == 0 ? nil : "warning: \(curve.method) gave a constant map for \(count) of \(randomization.images) "
                + "images: it cannot localise them, and its correlations say nothing"
        }
    }

    /// The class-sensitivity verdict of method `m`: "maps differ", "same maps",
    /// or "constant maps" (a constant map differs from nothing).
    public func sensitivityVerdict(_ m: Int) -> String {
        maps.constant[m] > 0 ? "constant maps" : sensitivity.methods[m].passes ? "maps differ" : "same maps"
    }

    /// Writes the figures and `index.html` into `folder`.
    /// - Returns: the files written.
    @discardableResult
    public func write(to folder: URL) throws -> [URL] {
        let methods = randomization.methods.map(\.method)
        let plural = randomization.images == 1 ? "" : "s"
        let curves = try LineChart.svg(
            title: "Cascading model randomisation: \(randomization.model)",
            subtitle: "methods \(methods.joined(separator: ", ")) · n = \(randomization.images) image\(plural) · "
                + "seed \(randomization.seed)",
            xLabels: randomization.steps, xTitle: "randomised from the output down to (cumulative)",
            yTitle: "Spearman ρ of |relevance| with the trained maps",
            series: randomization.methods.map { LineChart.Series(name: $0.method, values: $0.spearman.map(\.mean)) }
        ).write(to: folder.appendingPathComponent("plot"))
        var files = [curves.svg, curves.png]
        var grids: [(name: String, svg: URL)] = []
        for (i, image) in images.enumerated() where i < maps.grid.count && !maps.grid[i][0].isEmpty {
            let grid = try RandomizationGridFigure.svg(
                image: image.picture, imageName: image.name, model: randomization.model, steps: randomization.steps,
                methods: methods, maps: maps.grid[i],
                spearman: maps.grid[i].map { steps in
                    let magnitude = { (m: Tensor) in MapSimilarity.pixelMagnitudes(m.reshaped([1] + m.shape))[0] }
                    let trained = magnitude(steps[0])
                    return steps.map { MapSimilarity.spearman(trained, magnitude($0)) }
                }).write(to: folder.appendingPathComponent("randomization_\(i)"))
            files += [grid.svg, grid.png]
            grids.append((image.name, grid.svg))
        }

        var page = HTMLPage(title: "Sanity checks of \(methods.joined(separator: ", ")) on \(randomization.model)",
                            subtitle: "\(randomization.images) image\(plural) · abslrp check")
        if !warnings.isEmpty {
            page.heading("Warnings")
            for w in warnings { page.warning(w) }
        }
        page.heading("Model randomisation")
        page.paragraph("The model's parameters are re-initialised from the output down, one layer or block at a time, "
                       + "keeping what was randomised before (Adebayo et al. 2018). A method whose maps explain the model "
                       + "should lose its similarity to the trained model's maps (Spearman rank correlation of |relevance|, "
                       + "mean over the images) as the model is destroyed.")
        page.figure("plot.svg", alt: "Spearman correlation per method against the randomised depth")
        page.table(header: ["method"] + randomization.steps,
                   rows: randomization.methods.map { [$0.method] + $0.spearman.map { String(format: "%.3f", $0.mean) } },
                   numeric: Set(1...randomization.steps.count), caption: "mean Spearman correlation per step")
        for grid in grids {
            page.heading("Maps per step: \(grid.name)", level: 3)
            page.figure(ExplainReport.relativePath(of: grid.svg, in: folder),
                        alt: "\(grid.name): each method's map after each randomisation step")
        }
        page.heading("Class sensitivity")
        page.paragraph("Each image is explained for its predicted class and for the class the model finds least likely; "
                       + "a method passes when the two maps differ (mean Spearman correlation below "
                       + String(format: "%.2f", sensitivity.threshold) + ").")
        page.table(header: ["method", "Spearman", "cosine", "verdict"],
                   rows: sensitivity.methods.enumerated().map { m, entry in
                       [entry.method, String(format: "%.3f", entry.spearman.mean), String(format: "%.3f", entry.cosine.mean),
                        sensitivityVerdict(m)]
                   }, numeric: [1, 2])
        page.heading("Settings")
        page.definitions([("model", randomization.model), ("images", "\(randomization.images)"),
                          ("methods", methods.joined(separator: ", ")), ("seed", "\(randomization.seed)")])
        files.append(folder.appendingPathComponent(HTMLPage.fileName))
        try AtomicFile.write(page.data, to: files.last!)
        return files
    }
}

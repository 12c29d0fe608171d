import AbsLRPCore
import Foundation

extension GAEReport {
    /// The `index.html` of an `evaluate` or `merge` run: the summary table
    /// (mean and 95% interval per method and score, constant maps), the
    /// summary chart, each method's best/worst figure (or why there is
    /// none), the settings, the throughput and the label mapping, and any
    /// method's ``GAEMethodSummary/localisationWarning``.
    ///
    /// - Parameters:
    ///   - pictures: the run's pictures, in `folder`.
    ///   - labelNames: the model's class names (the mapping table), if any.
    ///   - notes: sentences about the run (e.g. that `merge` cannot draw the best/worst figures).
    public func reportPage(pictures: Pictures, folder: URL, labelNames: [String]?, notes: [String] = []) -> HTMLPage {
        let methods = settings.methods.joined(separator: ", ")
        var page = HTMLPage(title: "GAE of \(methods) on \(settings.datasetTitle)",
                            subtitle: "model \(settings.model) · \(results.count / max(settings.methods.count, 1)) "
                                + "positive images per method · shard \(settings.shard.index)/\(settings.shard.count)")
        for note in notes { page.paragraph(note) }
        let warnings = summary.compactMap(\.localisationWarning)
        if !warnings.isEmpty {
            page.heading("Warnings")
            for w in warnings { page.warning(w) }
        }
        page.heading("Summary")
        func cell(_ s: GAEStatistic) -> String {
            guard let mean = s.mean else { return "–" }
            guard let low = s.ci95Low, let high = s.ci95High else { return String(format: "%.4f", mean) }
            return String(format: "%.4f [%.4f, %.4f]", mean, low, high)
        }
        page.table(header: ["method", "n", "local consistency", "contrastiveness", "GAE", "faithfulness", "robustness",
                            "constant maps"],
                   rows: summary.map { s in
                       [s.method, "\(s.count)", cell(s.localConsistency), cell(s.contrastiveness), cell(s.gae),
                        cell(s.faithfulness), cell(s.robustness), "\(s.constantMaps)"]
                   }, numeric: Set(1...7), caption: "mean [95% confidence interval] over the positive images")
        page.figure(ExplainReport.relativePath(of: pictures.summary.svg, in: folder),
                    alt: "bar chart of the summary, one panel per score",
                    caption: "each score on its own axis; whiskers: 95% confidence interval")
        page.heading("Best and worst explained images")
        if pictures.extremes.isEmpty { page.paragraph("No best/worst figures: they need the data set's images.") }
        for e in pictures.extremes {
            page.heading(e.method, level: 3)
            page.figure(ExplainReport.relativePath(of: e.svg, in: folder),
                        alt: "\(e.method): images with the highest and lowest GAE")
        }
        page.heading("Settings")
        page.definitions([("model", settings.model), ("data set", "\(settings.dataset) (\(settings.datasetCount) images)"),
                          ("methods", methods), ("batch size", "\(settings.batchSize)"),
                          ("masking steps", "\(settings.steps)"), ("seed", settings.seed.map(String.init) ?? "replayed"),
                          ("pairing", settings.pairing.rawValue),
                          ("shard", "\(settings.shard.index) of \(settings.shard.count)"),
                          ("batches", "\(batches.count)")])
        page.heading("Throughput")
        page.definitions([("images", "\(throughput.images)"), ("seconds", String(format: "%.1f", throughput.seconds)),
                          ("images per second", String(format: "%.2f", throughput.imagesPerSecond))])
        page.heading("Labels")
        if let labelNames {
            page.table(header: ["class", "name"], rows: labelNames.enumerated().map { ["\($0.offset)", $0.element] },
                       numeric: [0], caption: "class index to name, as the model's configuration gives them")
        } else {
            page.paragraph("No class names known to this run: labels and predictions are class indices.")
        }
        return page
    }
}

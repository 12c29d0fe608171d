import AbsLRPCore
import Foundation

extension GAEReport {
    /// File name of the summary chart.
    public static let summaryChartFileName = "gae_summary.png"

    /// File name of a method's best/worst figure.
    public static func extremesFileName(method: String) -> String {
        "gae_extremes_\(method.map { $0.isLetter || $0.isNumber || $0 == "-" ? String($0) : "_" }.joined()).png"
    }

    /// Writes the pictures of the report into `folder`: ``SummaryChart`` as
    /// `gae_summary.png` and, per method of `methods`, ``ExtremesFigure`` as
    /// `gae_extremes_<method>.png` (each written whole via a temporary file).
    /// - Returns: the files written.
    @discardableResult
    public func writePictures(to folder: URL, methods: [RelevancyMethod], dataset: GAEDataset,
                              preprocessing: PreprocessingConfig, k: Int = 4,
                              labelNames: [String]? = nil) throws -> [URL] {
        var pictures = [(Self.summaryChartFileName, SummaryChart.render(summary))]
        for method in methods {
            pictures.append((Self.extremesFileName(method: method.name),
                             try ExtremesFigure.render(report: self, method: method, dataset: dataset,
                                                       preprocessing: preprocessing, k: k, labelNames: labelNames)))
        }
        return try pictures.map { name, image in
            let url = folder.appendingPathComponent(name)
            try image.writePNG(to: url)
            return url
        }
    }
}

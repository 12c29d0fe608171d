import AbsLRPCore
import Foundation

extension GAEReport {
    /// File names (without extension) of the summary chart.
    public static let summaryChartName = "gae_summary"

    /// File name (without extension) of a method's best/worst figure.
    public static func extremesName(method: String) -> String {
        "gae_extremes_\(method.map { $0.isLetter || $0.isNumber || $0 == "-" ? String($0) : "_" }.joined())"
    }

    /// The pictures of a report, each written as SVG and PNG.
    public struct Pictures {
        /// `gae_summary.svg` and `.png`.
        public var summary: (svg: URL, png: URL)
        /// Per method, in the order given: `gae_extremes_<method>.svg` and `.png`.
        public var extremes: [(method: String, svg: URL, png: URL)]

        public init(summary: (svg: URL, png: URL), extremes: [(method: String, svg: URL, png: URL)] = []) {
            self.summary = summary
            self.extremes = extremes
        }

        /// Every file written.
        public var files: [URL] { [summary.svg, summary.png] + extremes.flatMap { [$0.svg, $0.png] } }
    }

    /// Writes the pictures of the report into `folder`: ``SummaryChart`` as
    /// `gae_summary.svg`/`.png` and, per method of the report,
    /// ``ExtremesFigure`` as `gae_extremes_<method>.svg`/`.png`, drawn from
    /// the `k` best and worst pictures the run kept, captioned with `model`'s
    /// class names (each file written whole; the PNG rasterised by librsvg).
    @discardableResult
    public func writePictures(to folder: URL, extremes: ExtremeMaps, model: ModelConfiguration,
                              k: Int = 4) throws -> Pictures {
        let summary = try writeSummaryChart(to: folder)
        let extremes = try settings.methods.map { method in
            let svg = try ExtremesFigure.svg(report: self, method: method, pictures: extremes, model: model, k: k)
            let files = try svg.write(to: folder.appendingPathComponent(Self.extremesName(method: method)))
            return (method, files.svg, files.png)
        }
        return Pictures(summary: summary, extremes: extremes)
    }

    /// Writes only ``SummaryChart`` as `gae_summary.svg`/`.png` (what `merge`
    /// can draw without the images).
    public func writeSummaryChart(to folder: URL) throws -> (svg: URL, png: URL) {
        try SummaryChart.svg(self).write(to: folder.appendingPathComponent(Self.summaryChartName))
    }
}

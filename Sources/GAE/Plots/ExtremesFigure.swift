import AbsLRPCore
import Foundation

/// The figure of one method's best and worst explained images: the `k`
/// positives with the highest GAE (left column, best first) and the `k`
/// with the lowest (right column, worst first), each drawn as the
/// reference's `visualize_batch` draws it (the de-normalised image beside
/// the method's relevance for the explained class in `seismic`), captioned
/// with the data-set index, GAE, local consistency (LC), contrastiveness (C),
/// label and prediction.
public enum ExtremesFigure {
    private static let (margin, gap, captionHeight, minimumSide) = (16, 24, 52, 112)

    /// Renders the figure; the relevance is recomputed for the `2k` images shown.
    ///
    /// - Parameters:
    ///   - preprocessing: how the data set's images were normalised (to show them).
    ///   - labelNames: class names for the captions (numbers otherwise).
    /// - Throws: what reading an image or the method throws.
    public static func render(report: GAEReport, method: RelevancyMethod, dataset: GAEDataset,
                              preprocessing: PreprocessingConfig, k: Int = 4,
                              labelNames: [String]? = nil) throws -> RGBImage {
        let results = report.results.filter { $0.method == method.name }
        let ranked = results.indices.sorted { (results[$0].gae, -$0) > (results[$1].gae, -$1) }.map { results[$0] }
        let count = min(k, ranked.count)
        let columns = [("top \(count) by GAE", Array(ranked.prefix(count))),
                       ("bottom \(count) by GAE", Array(ranked.suffix(count).reversed()))]
        var cells: [[(caption: [String], picture: RGBImage)]] = []
        for (_, entries) in columns {
            cells.append(try entries.map { r in
                let (image, _) = try dataset.image(at: r.index)
                let x = Tensor(shape: [1] + image.shape, storage: image.storage)
                let relevance = try method.relevance(x, targets: [r.prediction])
                let scale = max(1, (minimumSide + image.shape[1] - 1) / image.shape[1])
                let picture = Visualization.render(input: image, relevance: relevance.reshaped(image.shape),
                                                   config: preprocessing, scale: scale)
                let name: (Int) -> String = { c in labelNames.flatMap { $0.indices.contains(c) ? $0[c] : nil } ?? "\(c)" }
                let value: (Float) -> String = { SummaryChart.valueText(Double($0), decimals: 3) }
                return (["#\(r.index)  GAE \(value(r.gae))",
                         "LC \(value(r.localConsistency))  C \(value(r.contrastiveness))",
                         "label \(name(r.label))  pred \(name(r.prediction))"], picture)
            })
        }
        let cellWidth = max(cells.flatMap { $0.map(\.picture.width) }.max() ?? 0, 240)
        let cellHeight = (cells.flatMap { $0.map(\.picture.height) }.max() ?? 0) + captionHeight
        let width = 2 * margin + 2 * cellWidth + gap
        let height = 60 + max(count, 1) * (cellHeight + gap) + margin
        var canvas = PlotCanvas(width: width, height: height)
        canvas.centredText("\(method.name): best and worst by GAE", x: width / 2, y: 10, scale: 2)
        if count == 0 { canvas.centredText("no results", x: width / 2, y: 60, scale: 2, PlotCanvas.gray) }
        for (c, column) in cells.enumerated() where count > 0 {
            let x = margin + c * (cellWidth + gap)
            canvas.text(columns[c].0, x: x, y: 36, scale: 2, PlotCanvas.gray)
            for (i, cell) in column.enumerated() {
                let y = 60 + i * (cellHeight + gap)
                for (line, text) in cell.caption.enumerated() {
                    canvas.text(SummaryChart.fitted(text, width: cellWidth, scale: line == 0 ? 2 : 1),
                                x: x, y: y + [0, 20, 32][line], scale: line == 0 ? 2 : 1)
                }
                canvas.paste(cell.picture, x: x, y: y + captionHeight - 6)
            }
        }
        return canvas.image
    }
}

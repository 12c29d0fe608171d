import AbsLRPCore
import Foundation

/// The figure of one method's best and worst explained images: the `k`
/// positives with the highest GAE (left column, best first) and the `k`
/// with the lowest (right column, worst first), each a ``HeatmapFigure``
/// (the de-normalised image beside the method's relevance for the explained
/// class, seismic colour bar) captioned with the data-set index, label,
/// prediction, GAE, local consistency (LC) and contrastiveness (C). It is
/// a pure function of the report, the pictures the run kept
/// (``ExtremeMaps``: the scored relevance, the de-normalised image) and the
/// model's class names.
///
/// Ties are broken by local consistency, then contrastiveness, then
/// data-set order, and said: when more images share the GAE at a column's
/// end than the column shows, a line under the column title tells how many
/// tie and how the shown ones were chosen. The two columns never show one
/// image twice (with fewer than `2k` results the worst column gets the rest).
public enum ExtremesFigure {
    static let (margin, gap, side) = (16.0, 24.0, 112)

    /// The results of `method` ranked best first: GAE, then LC, then C
    /// descending, then data-set order.
    public static func ranked(_ results: [GAEImageResult]) -> [GAEImageResult] {
        results.enumerated().sorted { a, b in ranksAbove(a.element, a.offset, b.element, b.offset) }.map(\.element)
    }

    /// Whether `x`, the `xOrder`-th result, ranks above `y`, the `yOrder`-th:
    /// higher GAE, then LC, then C, then earlier.
    static func ranksAbove(_ x: GAEImageResult, _ xOrder: Int, _ y: GAEImageResult, _ yOrder: Int) -> Bool {
        if x.gae != y.gae { return x.gae > y.gae }
        if x.localConsistency != y.localConsistency { return x.localConsistency > y.localConsistency }
        if x.contrastiveness != y.contrastiveness { return x.contrastiveness > y.contrastiveness }
        return xOrder < yOrder
    }

    /// The two columns: (title, tie note, entries).
    public static func columns(_ results: [GAEImageResult], k: Int)
        -> [(title: String, note: String?, entries: [GAEImageResult])] {
        let order = ranked(results), k = max(0, k)
        let top = Array(order.prefix(k))
        let bottom = Array(order.dropFirst(top.count).suffix(k).reversed())
        func note(_ shown: [GAEImageResult], lowest: Bool) -> String? {
            guard let end = shown.last else { return nil }
            let tied = results.filter { $0.gae == end.gae }.count
            guard tied > shown.filter({ $0.gae == end.gae }).count else { return nil }
            return "\(tied) images tie at GAE \(AxisScale.format(Double(end.gae), decimals: 3)); shown: "
                + (lowest ? "lowest" : "highest") + " local consistency, then contrastiveness"
        }
        return [("highest GAE (best first)", note(top, lowest: false), top),
                ("lowest GAE (worst first)", note(bottom, lowest: true), bottom)]
    }

    /// The figure of `method`'s results in `report`, drawn from the pictures
    /// the run kept (`pictures`: no method is run, no image read); captions
    /// name classes by `model`'s class names (numbers otherwise).
    ///
    /// - Throws: ``GAEError/missingExtremePicture(method:index:kept:)`` for a
    ///   shown positive without a kept picture; what embedding a picture throws.
    public static func svg(report: GAEReport, method: String, pictures: ExtremeMaps, model: ModelConfiguration,
                           k: Int = 4) throws -> SVGDocument {
        let columns = columns(report.results.filter { $0.method == method }, k: k)
        let labelNames = model.classNames
        let name: (Int) -> String = { c in
            (labelNames.flatMap { $0.indices.contains(c) ? $0[c] : nil }).map { "\($0) (\(c))" } ?? "class \(c)"
        }
        let value: (Float) -> String = { AxisScale.format(Double($0), decimals: 3) }
        var cells: [[SVGDocument]] = []
        for column in columns {
            cells.append(try column.entries.map { r in
                guard let picture = pictures.picture(method: method, index: r.index) else {
                    throw GAEError.missingExtremePicture(method: method, index: r.index, kept: pictures.k)
                }
                return try HeatmapFigure.svg(
                    input: picture.image, relevance: picture.relevance,
                    title: "#\(r.index) · GAE \(value(r.gae))",
                    subtitle: ["LC \(value(r.localConsistency)) · C \(value(r.contrastiveness))",
                               "label \(name(r.label)) · predicted \(name(r.prediction))"],
                    side: side)
            })
        }
        let s = ChartStyle.self
        let noteWidth = columns.compactMap(\.note).map { SVGDocument.textWidth($0, size: s.tickSize) }.max() ?? 0
        let cellWidth = max(cells.joined().map(\.width).max() ?? 0, 260, noteWidth)
        let cellHeight = cells.joined().map(\.height).max() ?? 0
        let rows = max(columns.map(\.entries.count).max() ?? 0, 1)
        let title = "\(method): best and worst explained images by GAE"
        let subtitle = "model \(report.settings.model) · data set \(report.settings.datasetTitle) · "
            + "n = \(report.results.filter { $0.method == method }.count) positive images"
        let headerTop = margin + s.titleSize + 8 + s.subtitleSize + 16
        let notes = columns.contains { $0.note != nil }
        let cellsTop = headerTop + s.labelSize + 8 + (notes ? s.tickSize + 8 : 0)
        let width = max(2 * margin + 2 * cellWidth + gap, 2 * margin + SVGDocument.textWidth(title, size: s.titleSize),
                        2 * margin + SVGDocument.textWidth(subtitle, size: s.subtitleSize))
        let height = cellsTop + Double(rows) * cellHeight + margin
        var svg = SVGDocument(width: width, height: height)
        svg.text(title, x: margin, y: margin + s.titleSize, size: s.titleSize, bold: true, class: "title")
        svg.text(subtitle, x: margin, y: margin + s.titleSize + 8 + s.subtitleSize, size: s.subtitleSize,
                 color: s.mutedColor, class: "subtitle")
        if columns.allSatisfy({ $0.entries.isEmpty }) {
            svg.text("no results", x: margin, y: cellsTop + 20, size: s.labelSize, class: "note")
        }
        for (c, column) in columns.enumerated() {
            let x = margin + Double(c) * (cellWidth + gap)
            svg.text(column.title, x: x, y: headerTop + s.labelSize, size: s.labelSize + 1, bold: true,
                     class: "column-title")
            if let note = column.note {
                svg.text(note, x: x, y: headerTop + s.labelSize + 8 + s.tickSize, size: s.tickSize, color: "#b00",
                         class: "tie-note")
            }
            for (i, cell) in cells[c].enumerated() {
                svg.include(cell, x: x - 12, y: cellsTop + Double(i) * cellHeight, class: "cell")
            }
        }
        return svg
    }
}

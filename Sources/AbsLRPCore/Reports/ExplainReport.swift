import Foundation

/// The `index.html` of an `explain` run: its settings, and per image the
/// top-5 classes (index, name, probability) and the pictures the run wrote
/// for it (one per method and target), with any ``LocalisationWarning``.
/// Only the run's own files are referenced.
public enum ExplainReport {
    /// The page for `results` of one job whose pictures are in `folder`.
    public static func page(_ results: [ExplainJob.Result], folder: URL, model: String, method: String,
                            settings: [(String, String)]) -> HTMLPage {
        var page = HTMLPage(title: "\(method) explanations of \(model)",
                            subtitle: "\(results.count) image\(results.count == 1 ? "" : "s") · abslrp explain")
        page.heading("Settings")
        page.definitions([("model", model), ("method", method)] + settings)
        let warnings = results.compactMap(\.warning)
        if !warnings.isEmpty {
            page.heading("Warnings")
            let reasons = Set(warnings.compactMap(\.reason)).sorted()
            page.warning("\(method) gave a constant map for \(warnings.count) of \(results.count) images: it cannot "
                         + "localise them" + (reasons.isEmpty ? "." : " (\(reasons.joined(separator: "; "))).")
                         + " Such maps are drawn white.")
        }
        page.heading("Images")
        // One section per image (in order of first appearance) with all its results (one per target).
        var groups: [[ExplainJob.Result]] = [], position: [String: Int] = [:]
        for r in results {
            if let i = position[r.name] { groups[i].append(r) } else { position[r.name] = groups.count; groups.append([r]) }
        }
        for group in groups {
            let first = group[0]
            page.heading(first.name, level: 3, id: "image-\(first.name)")
            for w in group.compactMap(\.warning) { page.warning(w.description) }
            page.beginRow()
            for r in group {
                if let picture = r.picture {
                    page.figure(relativePath(of: picture, in: folder), alt: "\(r.name): \(method) map for class \(r.target)",
                                caption: "\(method), explained class \(r.target)")
                }
            }
            page.table(header: ["rank", "class", "name", "probability"],
                       rows: first.predictions.enumerated().map { rank, p in
                           ["\(rank + 1)", "\(p.classIndex)", p.label, String(format: "%.2f%%", 100 * p.probability)]
                       }, numeric: [0, 1, 3], caption: "top-\(first.predictions.count) classes")
            page.endRow()
        }
        return page
    }

    /// `file`'s path relative to `folder` (its last component when outside).
    public static func relativePath(of file: URL, in folder: URL) -> String {
        let base = folder.standardizedFileURL.path, path = file.standardizedFileURL.path
        return path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : file.lastPathComponent
    }
}

import AbsLRPCore
import Foundation

/// `results.json` and `results.csv`.
///
/// `results.json` is the ``GAEReport`` with snake_case keys:
///
///     {"settings": {"model", "methods", "batch_size", "steps", "seed", "pairing",
///                   "shard": {"index", "count"}, "dataset", "dataset_count"},
///      "batches": [{"batch", "indices": [data-set indices in batch order]}],
///      "results": [{"method", "batch", "index", "mosaic": [TL, TR, BL, BR], "label",
///                   "prediction", "faithfulness", "robustness", "local_consistency",
///                   "contrastiveness", "gae"}],
///      "summary": [{"method", "count", "<score>": {"mean", "ci95_low", "ci95_high"}}],
///      "throughput": {"images", "seconds", "images_per_second"}}
///
/// Scores are float32 values written in their shortest exact decimal form.
/// `results.csv` has one row per entry of `results`, columns
/// `method,batch,index,mosaic_tl,mosaic_tr,mosaic_bl,mosaic_br,label,prediction,
/// faithfulness,robustness,local_consistency,contrastiveness,gae,source`
/// (`source`: the positive image's file).
extension GAEReport {
    public static let jsonFileName = "results.json"
    public static let csvFileName = "results.csv"

    /// The report as `results.json` bytes (keys sorted, indented).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The report's `results` as CSV text.
    public func csvText() -> String {
        var lines = ["method,batch,index,mosaic_tl,mosaic_tr,mosaic_bl,mosaic_br,label,prediction,"
                     + "faithfulness,robustness,local_consistency,contrastiveness,gae,source"]
        for r in results {
            let fields = [Self.csvField(r.method), "\(r.batch)", "\(r.index)"] + r.mosaic.map(String.init)
                + ["\(r.label)", "\(r.prediction)", "\(r.faithfulness)", "\(r.robustness)",
                   "\(r.localConsistency)", "\(r.contrastiveness)", "\(r.gae)", Self.csvField(r.source ?? "")]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `results.json` and `results.csv` into `folder` (which must
    /// exist), each whole or not at all (``AtomicFile``).
    /// - Returns: the two files' URLs.
    @discardableResult
    public func write(to folder: URL) throws -> (json: URL, csv: URL) {
        let json = folder.appendingPathComponent(Self.jsonFileName), csv = folder.appendingPathComponent(Self.csvFileName)
        try AtomicFile.write(try jsonData(), to: json)
        try AtomicFile.write(Data(csvText().utf8), to: csv)
        return (json, csv)
    }

    /// Reads a `results.json`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try InputFile.contents(of: url) } catch {
            throw GAEError.unreadableResults(path: url.path, reason: "\(error)")
        }
        do { self = try JSONDecoder().decode(GAEReport.self, from: data) } catch {
            throw GAEError.unreadableResults(path: url.path, reason: "not a GAE results file (\(error))")
        }
    }

    /// A CSV field, quoted when it holds a comma, quote or line break.
    private static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

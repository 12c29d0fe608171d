import ArgumentParser
import AbsLRPCore
import Foundation
import GAE

/// `abslrp merge`: one report from the shards' results.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Merge the results.json of GAE shards into the report of one run.")

    @Argument(help: ArgumentHelp("The shards' results.json files (or their folders).", valueName: "results"))
    var results: [String]

    @Option(name: .long, help: ArgumentHelp("Folder for the merged results.json, results.csv, gae_summary.svg/.png and index.html.", valueName: "dir"))
    var out = "out/merged"

    func validate() throws { try refuseEmptyPaths(["--out": out, "a results argument": results.contains("") ? "" : nil]) }

    func run() throws {
        let files = results.map { path -> URL in
            var isDirectory: ObjCBool = false
            let url = URL(fileURLWithPath: path)
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return url.appendingPathComponent(GAEReport.jsonFileName)
            }
            return url
        }
        let output = try RunOutput(folder: URL(fileURLWithPath: out))
        let merged = try GAEReport.merge(files: files)
        let written = try merged.write(to: output.staging)
        let chart = try merged.writeSummaryChart(to: output.staging)
        try output.write(merged.reportPage(pictures: .init(summary: chart), folder: output.staging, labelNames: nil,
                                           notes: ["Merged from \(files.count) shard\(files.count == 1 ? "" : "s"): "
                                                   + files.map(\.path).joined(separator: ", ") + "."]).data,
                         as: HTMLPage.fileName)
        try output.commit()
        SummaryTable.print(merged)
        print("merged \(files.count) shard\(files.count == 1 ? "" : "s"): \(output.destination(of: written.json).relativePath), "
              + output.destination(of: written.csv).relativePath)
    }
}

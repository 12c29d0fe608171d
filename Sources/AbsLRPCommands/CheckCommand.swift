import ArgumentParser
import AbsLRPCore
import Foundation
import GAE

/// `abslrp check`: sanity checks of relevancy methods on a model (cascading
/// model randomization, class sensitivity), written as `report.json` and a
/// line plot `plot.svg` / `plot.png`, map grids and `index.html` (``CheckReport``).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Sanity-check relevancy methods: model randomization (Adebayo et al.) and class sensitivity.",
        discussion: """
            Model randomization re-initialises the model from the output down, one layer or block at a time, and \
            reports the Spearman rank correlation of each method's maps with those of the trained model; class \
            sensitivity compares the maps for the predicted and the least likely class. The model's weights are \
            restored afterwards; nothing is written to the weights file.

            Examples:
              abslrp check Samples/ --methods gradient,integrated-gradients,abslrp,random --out out/check
              abslrp check --tensor batch.safetensors --model resnet50 --weights model.safetensors
            """)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @OptionGroup var methodOptions: MethodOptions

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
        "Methods to check, comma- or space-separated; `all` (the default) for every method that applies to the model.",
        valueName: "names"))
    var methods: [MethodList] = [MethodList(names: nil)]

    @Option(name: .long, help: "Images shown in the map grids of the report (one figure each).")
    var gridImages = 2

    @Option(name: .long, help: ArgumentHelp("Folder for report.json, plot.svg/.png, the map grids and index.html.",
                                            valueName: "dir"))
    var out = "out/check"

    func validate() throws { try refuseEmptyPaths(["--out": out]) }

    func run() throws {
        let classifier = try modelOptions.load()
        let options = methodOptions.relevancyMethodOptions
        let checked = try MethodList.joined(methods).resolved(for: classifier).map {
            try RelevancyMethods.make($0, classifier: classifier, options: options)
        }
        let job = SanityCheckJob(source: try inputs.source(), methods: checked, batchSize: inputs.batchSize,
                                 seed: options.seed, gridImages: gridImages, outputDirectory: URL(fileURLWithPath: out),
                                 maxPixels: inputs.maxPixels, preprocessing: preprocessingOptions.preprocessing)
        let start = Date()
        let result = try job.run { FileHandle.standardError.write("randomization \($0)\n".data(using: .utf8)!) }
        let (randomization, sensitivity, check) = (result.report.modelRandomization, result.report.classSensitivity, result.check)
        for w in check.warnings { FileHandle.standardError.write(Data((w + "\n").utf8)) }

        func column(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        print(column("method", 25) + column("randomization: trained -> all layers", 40) + "class sensitivity: spearman, cosine")
        for (m, (curve, entry)) in zip(randomization.methods, sensitivity.methods).enumerated() {
            let (first, last) = (curve.spearman.first!.mean, curve.spearman.last!.mean)
            print(column(curve.method, 25) + column(String(format: "%.3f -> %.3f", first, last), 40)
                  + String(format: "%.3f, %.3f  ", entry.spearman.mean, entry.cosine.mean)
                  + check.sensitivityVerdict(m))
        }
        print(String(format: "checked %d method%@ on %d image%@ in %.1f s", checked.count, checked.count == 1 ? "" : "s",
                     result.images, result.images == 1 ? "" : "s", Date().timeIntervalSince(start)))
        print("report: \(result.reportFile.relativePath), \(result.page.relativePath)")
    }
}

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

    /// Everything the check found, as `report.json` holds it.
    struct Report: Encodable {
        var modelRandomization: ModelRandomizationReport
        var classSensitivity: ClassSensitivityReport
    }

    func run() throws {
        let classifier = try modelOptions.load()
        let options = methodOptions.relevancyMethodOptions
        let checked = try MethodList.joined(methods).resolved(for: classifier).map {
            try RelevancyMethods.make($0, classifier: classifier, options: options)
        }
        let output = try RunOutput(folder: URL(fileURLWithPath: out))
        let input: Tensor, imageNames: [String]
        switch try inputs.source() {
        case .tensorFile(let url):
            input = try SafetensorsFile(contentsOf: url).tensor("input")
            imageNames = (0..<input.shape[0]).map { String(format: "sample_%03d", $0) }
        case .images(let urls):
            guard !urls.isEmpty else { throw ExplainJobError.noInputs }
            input = try InputImages.load(urls, preprocessing: try classifier.configuration.preprocessing(preprocessingOptions.preprocessing),
                                         maxPixels: inputs.maxPixels)
            imageNames = urls.map(\.lastPathComponent)
        }
        try classifier.validateInput(input)

        let start = Date()
        let maps = CheckReport.Maps(shown: min(gridImages, input.shape[0]), methods: checked.count)
        let randomization = try ModelRandomization(methods: checked, batchSize: inputs.batchSize, seed: options.seed)
            .run(input, maps: maps.record) { FileHandle.standardError.write("randomization \($0)\n".data(using: .utf8)!) }
        let sensitivity = try ClassSensitivity(methods: checked, batchSize: inputs.batchSize).run(input)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let reportURL = try output.write(encoder.encode(Report(modelRandomization: randomization,
                                                               classSensitivity: sensitivity)), as: "report.json")
        let display = (try? classifier.configuration.preprocessing(preprocessingOptions.preprocessing))
            ?? classifier.configuration.displayPreprocessing
        let shown = (0..<maps.shown).map { i in
            (imageNames[i], RGBImage(tensor: display.denormalize(
                input.batchSlice(i..<(i + 1)).reshaped(Array(input.shape.dropFirst())))))
        }
        let check = CheckReport(randomization: randomization, sensitivity: sensitivity, maps: maps, images: shown)
        try check.write(to: output.staging)
        try output.commit()
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
                     input.shape[0], input.shape[0] == 1 ? "" : "s", Date().timeIntervalSince(start)))
        print("report: \(reportURL.relativePath), \(output.folder.appendingPathComponent(HTMLPage.fileName).relativePath)")
    }
}

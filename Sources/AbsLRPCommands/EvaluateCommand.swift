import ArgumentParser
import AbsLRPCore
import Foundation
import GAE

/// `abslrp evaluate`: GAE scores of relevancy methods on a data set.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score relevancy methods with GAE (local consistency, contrastiveness, GAE) on a data set.",
        discussion: """
            Writes results.json, results.csv, the summary chart gae_summary.svg/.png and a best/worst figure per \
            method to --out, and journal.gae, where every finished batch is recorded durably so that --resume \
            continues an interrupted run.
            Examples:
              abslrp evaluate --dataset fashion-mnist-test --limit 512 --methods abslrp,gradient,random
              abslrp evaluate --dataset images/ --model resnet50 --weights model.safetensors --shard 3/16 --out shard-3 --resume
            """)

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var preprocessingOptions: PreprocessingOptions

    @OptionGroup var methodOptions: MethodOptions

    @Option(name: .long, help: ArgumentHelp(
        "An image folder (ImageFolder layout), a path,label CSV, a safetensors file (input, label), an "
            + "*images-idx3-ubyte[.gz] file, or fashion-mnist-test / fashion-mnist-train.", valueName: "path"))
    var dataset = "fashion-mnist-test"

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp(
        "Methods, comma- or space-separated; `all` for every method that applies to the model.", valueName: "names"))
    var methods: [MethodList] = [MethodList(names: ["abslrp"])]

    @Option(name: .long, help: "Images per batch: a multiple of 4 (each 4 images make one mosaic).")
    var batchSize = 32

    @Option(name: .long, help: "Masking steps.")
    var steps = 10

    @Option(name: .long, help: ArgumentHelp("Use only the first N images of the data set.", valueName: "N"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp(
        "consistent (positive drawn among its mosaic's tiles; default) or reference (the published behaviour).",
        valueName: "pairing"))
    var pairing = PositivePairing.consistent

    @Option(name: .long, help: ArgumentHelp("Evaluate the K-th of N disjoint parts (0-based), e.g. 3/16.", valueName: "K/N"))
    var shard = Shard.whole

    @Option(name: .long, help: ArgumentHelp("Folder for the results and pictures.", valueName: "dir"))
    var out = "out/evaluate"

    @Option(name: .long, help: ArgumentHelp(
        "Best and worst images shown per method (the run keeps their pictures; --resume needs the same value).",
        valueName: "N"))
    var top = 4

    @Flag(name: .long, help: ArgumentHelp(
        "Continue the run recorded in --out's journal.gae after its last complete batch (a new run if there is none); "
            + "refuses a journal made with other settings. Without it, a new journal replaces any earlier one."))
    var resume = false

    @Flag(name: .long, help: ArgumentHelp(
        "Print the memory this run needs in MiB (an upper estimate from the model family and the settings) and exit "
            + "without evaluating; scripts/slurm/gae.sh asks for it."))
    var estimateMemory = false

    @Flag(name: .long, help: ArgumentHelp(
        "Score the images after the last full batch in a smaller final batch (a multiple of 4: each mosaic needs 4); "
            + "without it they are left out and reported."))
    var keepLast = false

    func validate() throws {
        try refuseEmptyPaths(["--out": out, "--dataset": dataset])
        guard batchSize > 0, batchSize % 4 == 0 else {
            throw ValidationError("--batch-size must be a positive multiple of 4, got \(batchSize)")
        }
        guard (1...GAEConfiguration.maximumSteps).contains(steps) else {
            throw ValidationError("--steps must be between 1 and \(GAEConfiguration.maximumSteps), got \(steps)")
        }
        guard top >= 0 else { throw ValidationError("--top must be 0 or more, got \(top)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let classifier = try modelOptions.load()
        let names = MethodList.joined(methods).resolved(for: classifier)
        let relevancyMethods = try GAEMethodCatalog.methods(named: names, classifier: classifier,
                                                            options: methodOptions.relevancyMethodOptions)
        let pipeline = preprocessingOptions.preprocessing
        let classNames = classifier.configuration.classNames
        var data: GAEDataset = try GAEDatasets.open(dataset, preprocessing: try classifier.configuration.preprocessing(pipeline),
                                                    classNames: classNames)
        if let limit { data = PrefixDataset(base: data, count: min(limit, data.count)) }
        let configuration = GAEConfiguration(batchSize: batchSize, steps: steps, seed: methodOptions.seed,
                                             pairing: pairing, shard: shard, keepLast: keepLast)
        if estimateMemory {
            let mebibyte = 1 << 20
            let bytes = configuration.estimatedBytes(model: classifier.configuration, methods: relevancyMethods.count,
                                                     keptExtremes: top)
            print((bytes + mebibyte - 1) / mebibyte)
            return
        }
        if let mapping = data.labelMapping {
            print("labels (\(mapping.kind.rawValue)):")
            mapping.lines(classNames: classNames).forEach { print($0) }
            if let unmatched = mapping.unmatched {
                print("warning: folders \(unmatched.joined(separator: ", ")) match none of the model's class names; "
                      + "labels are the sorted folder order")
            }
        }
        let evaluation = try GlobalAttributionEvaluation(classifier: classifier, methods: relevancyMethods,
                                                         configuration: configuration)
        let output = try RunOutput(folder: URL(fileURLWithPath: out))
        let journal = output.folder.appendingPathComponent(GAEJournal.fileName)  // lives in --out itself, not staged
        let extremes = ExtremeMaps(k: top)
        let report = try evaluation.run(on: data, progress: StandardErrorProgressReporter(),
                                        journal: resume ? .resume(journal) : .start(journal), keeping: extremes)
        let files = try report.write(to: output.staging)
        let pictures = try report.writePictures(to: output.staging, extremes: extremes, model: classifier.configuration,
                                                k: top)
        try output.write(report.reportPage(pictures: pictures, folder: output.staging,
                                           labelNames: classifier.configuration.labelNames).data, as: HTMLPage.fileName)
        try output.commit()
        for s in report.summary { if let w = s.localisationWarning { FileHandle.standardError.write(Data((w + "\n").utf8)) } }
        if let leftover = report.settings.leftover {
            print("\(leftover.count) image\(leftover.count == 1 ? "" : "s") not scored (after the last "
                  + (keepLast ? "batch; mosaics need 4" : "full batch; --keep-last scores them") + "), data-set indices "
                  + leftover.map(String.init).joined(separator: ", "))
        }
        SummaryTable.print(report)
        print(String(format: "%d images in %.1f s (%.2f images/s)", report.throughput.images, report.throughput.seconds,
                     report.throughput.imagesPerSecond))
        print("results: \(output.destination(of: files.json).relativePath), \(output.destination(of: files.csv).relativePath)")
        print("pictures: \(pictures.files.map { output.destination(of: $0).relativePath }.joined(separator: ", "))")
    }
}

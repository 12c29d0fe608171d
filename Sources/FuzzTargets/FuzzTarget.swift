import AbsLRPCore
import Foundation
import GAE

/// The parsers that read files from outside, as fuzzing entry points: each
/// takes arbitrary bytes, gives them to the library as the file a user would
/// name, and goes on as a command would with what it read. Every input must
/// end in success or a thrown error, never a trap, a hang or an allocation
/// beyond the documented limits.
///
/// `abslrp-fuzz TARGET` (the `FuzzMain` executable) runs one under libFuzzer
/// (`scripts/fuzz.sh`); `FuzzRegressionTests` replays the committed
/// corpus of inputs that once crashed (`Tests/Fixtures/fuzz-regressions/TARGET/`).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `SafetensorsFile`: open, then read every tensor as float and integers.
    case safetensors
    /// `ModelConfiguration(data:)` (checks and memory estimate, with a 16 MB
    /// limit), both preprocessing pipelines, and the model built.
    case configuration
    /// `RGBImage.decode` (PNG/JPEG through libpng/libjpeg, pixel limit 4M)
    /// and both preprocessing pipelines (the reference's, timm's bicubic with
    /// Pillow's 8-bit resampling), shown again as an image.
    case image
    /// `IDXDataset` over gzip or plain files: the first two bytes (little-
    /// endian) are the label file's length, the label file follows, the rest
    /// is the image file; then every image is read.
    case idx
    /// `CSVDataset` in a folder of odd files (``CSVImages``), then its first
    /// 32 rows' images read; the first error is thrown once all were tried.
    case csv
    /// `GAEReport(contentsOf:)`, `validate`, `merge` and both result formats.
    case results

    /// Runs the target on `bytes`; thrown errors are the expected outcome of
    /// bad input and are returned, not rethrown.
    @discardableResult
    public func run(_ bytes: Data) -> Error? {
        do {
            try body(bytes)
            return nil
        } catch {
            return error
        }
    }

    private func body(_ bytes: Data) throws {
        switch self {
        case .safetensors:
            let file = try SafetensorsFile(contentsOf: try Scratch.write(bytes, as: "input.safetensors"))
            for name in file.names {
                let (dtype, _) = try file.info(name)
                _ = try file.tensor(name)
                if [.i64, .i32, .u8].contains(dtype) { _ = try file.integers(name) }
            }
        case .configuration:
            let configuration = try ModelConfiguration(data: bytes, name: "fuzzed", memoryLimit: 1 << 24)
            for pipeline in Preprocessing.allCases { _ = try? configuration.preprocessing(pipeline) }
            _ = Classifier(configuration: configuration)
        case .image:
            let image = try RGBImage.decode(contentsOf: try Scratch.write(bytes, as: "image"), maxPixels: 1 << 22)
            let statistics: [Float] = [0.5, 0.5, 0.5]
            let timm = TimmEvalTransform(DataConfiguration(inputSize: [3, 32, 32]), mean: statistics)
            for preprocessing in [PreprocessingConfig(resizeSize: .init(36), cropSize: .init(32), mean: statistics, std: statistics),
                                  PreprocessingConfig(timm: timm, mean: statistics, std: statistics)] {
                _ = RGBImage(tensor: preprocessing.denormalize(try preprocessing.preprocessed(image, maxPixels: 1 << 22,
                                                                                               source: "fuzzed")))
            }
        case .idx:
            let labelLength = bytes.count < 2 ? 0 : Int(bytes[bytes.startIndex]) | Int(bytes[bytes.startIndex + 1]) << 8
            let labels = bytes.dropFirst(2).prefix(labelLength), images = bytes.dropFirst(2 + labels.count)
            let dataset = try IDXDataset(images: try Scratch.write(Data(images), as: "images-idx3-ubyte"),
                                         labels: try Scratch.write(Data(labels), as: "labels-idx1-ubyte"),
                                         preprocessing: PreprocessingConfig(resizeSize: .init(8), cropSize: .init(8),
                                                                            mean: [0.5], std: [0.5], channels: 1))
            for index in 0..<min(dataset.count, 64) { _ = try dataset.image(at: index) }
        case .csv:
            let dataset = try CSVDataset(csv: try Scratch.write(bytes, as: "list.csv", in: CSVImages.folder),
                                         preprocessing: .imagenetCNN(resize: 36, crop: 32))
            var firstError: Error?
            for index in 0..<min(dataset.count, 32) {
                _ = dataset.itemName(at: index)
                do { _ = try dataset.image(at: index) } catch { firstError = firstError ?? error }
            }
            if let firstError { throw firstError }
        case .results:
            let url = try Scratch.write(bytes, as: "results.json")
            let report = try GAEReport(contentsOf: url)
            _ = report.csvText()
            _ = try report.jsonData()
            try report.validate(source: url.path)
            _ = try GAEReport.merge(files: [url])
        }
    }
}

/// One private folder per process for the files the targets read,
/// `abslrp-fuzz-<pid>` in `$ABSLRP_FUZZ_SCRATCH` (`scripts/fuzz.sh`'s folder
/// of the run, which its trap removes on every exit, crashes included), else
/// in `/dev/shm` when there is one (so that fuzzing does not wear the disk),
/// else in the temporary folder. The process removes it when it exits
/// normally (`atexit`: a replay, `swift test`, libFuzzer's time limit).
enum Scratch {
    /// The environment variable naming the folder to make the scratch folder in.
    static let environmentVariable = "ABSLRP_FUZZ_SCRATCH"

    static let folder: URL = {
        let base = ProcessInfo.processInfo.environment[environmentVariable]
            ?? (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        let url = URL(fileURLWithPath: base).appendingPathComponent("abslrp-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.folder) }
        return url
    }()

    static func write(_ bytes: Data, as name: String) throws -> URL {
        try write(bytes, as: name, in: folder)
    }

    static func write(_ bytes: Data, as name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }
}

/// The folder the CSV target's list is written into, so that its relative
/// paths name these: `a.png` (3x2) and `sub/b.png` (1x1) images,
/// `link.png` (a link to `a.png`), `sublink/` (to `sub/`), `empty.png`,
/// `cut.png` (the first 20 bytes of `a.png`), `text.png` (not an image),
/// `dir.png/` (a folder), `loop.png` (a link to itself), `loop-a`/`loop-b`
/// (links to each other), `dangling.png` (a link to nothing), `fifo.png` (a
/// FIFO no one writes to). Absolute paths reach `/dev/zero`, `/dev/stdin`
/// and the like as they are.
enum CSVImages {
    static let folder: URL = {
        let url = Scratch.folder.appendingPathComponent("csv")
        let files = FileManager.default
        try? files.createDirectory(at: url.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try? files.createDirectory(at: url.appendingPathComponent("dir.png"), withIntermediateDirectories: true)
        let a = RGBImage(width: 3, height: 2, pixels: (0..<18).map { UInt8($0 * 13) })
        try? a.writePNG(to: url.appendingPathComponent("a.png"))
        try? RGBImage(width: 1, height: 1, pixels: [9, 99, 199]).writePNG(to: url.appendingPathComponent("sub/b.png"))
        let png = (try? Data(contentsOf: url.appendingPathComponent("a.png"))) ?? Data()
        _ = files.createFile(atPath: url.appendingPathComponent("empty.png").path, contents: Data())
        _ = files.createFile(atPath: url.appendingPathComponent("cut.png").path, contents: png.prefix(20))
        _ = files.createFile(atPath: url.appendingPathComponent("text.png").path, contents: Data("not an image\n".utf8))
        for (link, target) in [("link.png", "a.png"), ("sublink", "sub"), ("loop.png", "loop.png"), ("loop-a", "loop-b"),
                               ("loop-b", "loop-a"), ("dangling.png", "missing.png")] {
            try? files.createSymbolicLink(atPath: url.appendingPathComponent(link).path, withDestinationPath: target)
        }
        _ = mkfifo(url.appendingPathComponent("fifo.png").path, 0o600)
        return url
    }()
}

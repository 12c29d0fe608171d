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
    /// `CSVDataset` (the list only: paths are not opened).
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
            let dataset = try CSVDataset(csv: try Scratch.write(bytes, as: "list.csv"),
                                         preprocessing: .imagenetCNN(resize: 36, crop: 32))
            for index in 0..<dataset.count { _ = dataset.itemName(at: index) }
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

/// One private folder per process for the files the targets read (in
/// `/dev/shm` when there is one, so that fuzzing does not wear the disk).
enum Scratch {
    static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("abslrp-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func write(_ bytes: Data, as name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }
}

/// Why a GAE run, data set, merge or report cannot proceed, with what to do about it.
public enum GAEError: Error, CustomStringConvertible, Equatable {
    /// The batch size is not a positive multiple of 4 (each mosaic takes four images).
    case batchSizeNotMultipleOfFour(Int)
    /// The masking needs at least one step.
    case invalidSteps(Int)
    /// The data set holds fewer images than one batch, so no batch can run.
    case datasetTooSmall(count: Int, batchSize: Int)
    /// An image of the data set could not be read; `item` names it (its file).
    case unreadableImage(item: String, reason: String)
    /// An image's shape does not fit the model (or its half-size mosaic does not).
    case unsupportedImageSize(item: String, shape: [Int], reason: String)
    /// A label outside the model's classes.
    case labelOutOfRange(item: String, label: Int, classes: Int)
    /// A method name the evaluation does not know.
    case unknownMethod(name: String, known: [String])
    /// Two methods with one name: their results could not be told apart.
    case duplicateMethod(String)
    /// No methods to evaluate.
    case noMethods
    /// A shard outside `0 ..< count`.
    case invalidShard(index: Int, count: Int)
    /// A sampling that returned something unusable (not a permutation, a draw outside 0...3).
    case invalidSampling(String)
    /// A data set that cannot be used as a whole (bad file format, empty folder).
    case invalidDataset(path: String, reason: String)
    /// Shard reports that do not form one run.
    case mergeMismatch(String)
    /// A results file whose contents are not what a run writes (``GAEReport/validate(source:)``).
    case inconsistentResults(source: String, reason: String)
    /// A score of a batch that is NaN or infinite, found right after the batch.
    case nonFiniteScore(method: String, batch: Int, mosaic: Int, scores: [Float])
    /// A results file that cannot be read.
    case unreadableResults(path: String, reason: String)
    /// A journal to resume that was made by a run with other settings
    /// (``GAERunFingerprint/differences(from:)``: "what: journal A, now B").
    case journalMismatch(path: String, differences: [String])
    /// A journal that is damaged before its last record, or whose records do
    /// not fit the run.
    case corruptJournal(path: String, reason: String)
    /// A best/worst figure asked for a positive whose picture the run did not
    /// keep (more images than it kept, or results of another run).
    case missingExtremePicture(method: String, index: Int, kept: Int)

    public var description: String {
        switch self {
        case .batchSizeNotMultipleOfFour(let b):
            return "batch size \(b) is not a positive multiple of 4: every mosaic takes 4 images (try \(max(4, (b + 3) / 4 * 4)))"
        case .invalidSteps(let s):
            return "the number of masking steps must be between 1 and \(GAEConfiguration.maximumSteps), got \(s)"
        case .datasetTooSmall(let n, let b):
            return "the data set has \(n) image\(n == 1 ? "" : "s"), fewer than one batch of \(b): "
                + (n < 4 ? "GAE needs at least 4 images (one mosaic)" : "use a batch size of at most \(n / 4 * 4) or a larger data set")
        case .unreadableImage(let item, let reason):
            return "cannot read image \(item): \(reason)"
        case .unsupportedImageSize(let item, let shape, let reason):
            return "image \(item) of shape \(shape) does not fit the model: \(reason)"
        case .labelOutOfRange(let item, let label, let classes):
            return "image \(item) has label \(label), but the model has classes 0..<\(classes)"
        case .unknownMethod(let name, let known):
            return "unknown relevancy method '\(name)'; known: \(known.joined(separator: ", "))"
        case .duplicateMethod(let name):
            return "relevancy method '\(name)' is given twice; method names must be unique"
        case .noMethods:
            return "no relevancy method to evaluate: give at least one"
        case .inconsistentResults(let source, let reason):
            return "\(source) is not the results of one GAE run or shard: \(reason)"
        case .nonFiniteScore(let method, let batch, let mosaic, let scores):
            return "\(method) gave the positive of mosaic \(mosaic) of batch \(batch) scores that are not finite (faithfulness, robustness, "
                + "local consistency, contrastiveness, GAE = \(scores)); the model's outputs are out of float range"
        case .invalidShard(let index, let count):
            return "shard \(index) of \(count) does not exist: need count >= 1 and 0 <= index < count"
        case .invalidSampling(let reason):
            return "unusable sampling: \(reason)"
        case .invalidDataset(let path, let reason):
            return "cannot use data set \(path): \(reason)"
        case .mergeMismatch(let reason):
            return "cannot merge the shard results: \(reason)"
        case .unreadableResults(let path, let reason):
            return "cannot read GAE results \(path): \(reason)"
        case .journalMismatch(let path, let differences):
            return "cannot resume from \(path): it was made by a run with other settings ("
                + differences.joined(separator: "; ") + "); "
                + "resume with the same settings, or start afresh without --resume or with another --out"
        case .corruptJournal(let path, let reason):
            return "cannot resume from damaged journal \(path): \(reason); "
                + "remove it to start the run afresh"
        case .missingExtremePicture(let method, let index, let kept):
            return "no picture of \(method)'s positive #\(index) for the best/worst figure: the run kept the "
                + "\(kept) best and worst per method; draw at most that many from the run that scored them"
        }
    }
}

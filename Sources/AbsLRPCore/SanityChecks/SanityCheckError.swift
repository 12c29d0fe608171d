/// A sanity check that cannot run as asked.
public enum SanityCheckError: Error, CustomStringConvertible, Equatable {
    case noMethods
    case noImages
    /// The methods must all explain the one classifier the check changes.
    case methodsOnDifferentModels(String)
    case invalidBatchSize(Int)

    public var description: String {
        switch self {
        case .noMethods: return "no methods to check: name at least one"
        case .noImages: return "no images to check: give at least one image"
        case .methodsOnDifferentModels(let method):
            return "method '\(method)' explains another model instance; build every method for the same classifier"
        case .invalidBatchSize(let size): return "batch size must be at least 1, got \(size)"
        }
    }
}

/// The checks shared by both sanity checks: methods on one classifier, a
/// non-empty batch it takes, a positive batch size. Returns the classifier.
func validatedSanityCheck(methods: [RelevancyMethod], images: Tensor, batchSize: Int) throws -> Classifier {
    guard let classifier = methods.first?.classifier else { throw SanityCheckError.noMethods }
    if let other = methods.first(where: { $0.classifier !== classifier }) {
        throw SanityCheckError.methodsOnDifferentModels(other.name)
    }
    guard batchSize > 0 else { throw SanityCheckError.invalidBatchSize(batchSize) }
    guard images.rank == 4, images.shape[0] > 0 else { throw SanityCheckError.noImages }
    try classifier.validateInput(images)
    return classifier
}

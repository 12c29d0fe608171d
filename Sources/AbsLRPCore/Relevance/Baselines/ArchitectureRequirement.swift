/// The model families a method can explain; methods that need a convolutional
/// feature map or attention matrices check it when they are built.
enum ArchitectureRequirement {
    /// VGG and ResNet.
    case convolutional
    /// Vision Transformers.
    case visionTransformer

    /// Whether `architecture` is of this kind.
    func admits(_ architecture: Architecture) -> Bool {
        switch (self, architecture) {
        case (.convolutional, .vgg), (.convolutional, .resnet), (.visionTransformer, .visionTransformer): true
        default: false
        }
    }

    /// Throws ``RelevancyMethodError/notApplicable(method:architecture:reason:)``
    /// with `reason` unless `classifier` is of this kind.
    func check(_ classifier: Classifier, method: String, reason: String) throws {
        let architecture = classifier.configuration.architecture
        guard admits(architecture) else {
            throw RelevancyMethodError.notApplicable(method: method, architecture: architecture.familyName, reason: reason)
        }
    }
}

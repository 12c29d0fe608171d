/// Whether a family's networks compute with convolutions (feature maps for
/// Grad-CAM) or with self-attention (attention matrices for rollout and
/// transformer attribution).
public enum ModelKind: String, Sendable {
    case convolutional
    case attention
}

/// One model family: a timm model class (`VGG`, `ResNet`,
/// `VisionTransformer`), its configuration, and everything the rest of the
/// toolkit needs to know about its networks. Nothing outside a family's file
/// asks which family a model is; it asks the family.
///
/// A family is registered by one line in ``ModelFamilies/all``
/// (docs/architecture.md, "How to add a model family").
public protocol ModelFamily: Sendable {
    /// timm's constructor arguments, decoded from `model_args` with timm's
    /// keyword names; unknown keys and values this toolkit cannot run are
    /// errors naming the key and quoting the value.
    associatedtype Configuration: ModelFamilyConfiguration

    /// The family's name in configuration files (`"architecture": "resnet"`).
    static var name: String { get }
    /// The timm class whose entrypoints this family builds.
    static var timmClass: String { get }
    static var kind: ModelKind { get }

    /// The network (a timm module tree with zero weights).
    static func makeNetwork(_ configuration: Configuration) -> Module

    /// Throws ``ClassifierInputError`` unless the network takes images of
    /// `height` x `width` (channels and batch are checked by ``Classifier``).
    static func validateInput(height: Int, width: Int, _ configuration: Configuration, model: String) throws

    /// The layer whose recorded input is the last convolutional feature map
    /// (B, K, h, w) that Grad-CAM weighs; throws
    /// ``RelevancyMethodError/notApplicable(method:architecture:reason:)``
    /// when the network has none.
    static func gradCAMFeatureLayer(in network: Module) throws -> Layer

    /// Whether `module` is re-initialised as one unit by the cascading
    /// randomisation test (a residual or transformer block); other units are
    /// the leaf layers that hold parameters (see ``ModelRandomization``).
    static func isRandomisationUnit(_ module: Module) -> Bool

    /// An upper estimate of the memory the network takes: its parameters and
    /// buffers, and the recorded forward of one `height` x `width` image, in
    /// float32 values (saturating at `Int.max`).
    static func memoryEstimate(_ configuration: Configuration, height: Int, width: Int) -> MemoryEstimate

    /// The reference's absLRP rules for this family's networks.
    static var absLRPComposite: any Composite { get }

    /// An LRP composite of `layerMap` (first match wins, then `fallback`) as
    /// this family runs LRP (default: as given).
    static func lrpComposite(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)],
                             fallback: any RelevanceRule) -> any Composite

    /// Channels of the features the head reads (timm's `num_features`).
    static func numFeatures(_ configuration: Configuration) -> Int

    /// The input size (C, H, W) a configuration file that gives none means.
    static func defaultInputSize(_ configuration: Configuration) -> [Int]
}

extension ModelFamily {
    public static func gradCAMFeatureLayer(in network: Module) throws -> Layer {
        throw RelevancyMethodError.notApplicable(
            method: "gradcam", architecture: name,
            reason: "Grad-CAM needs a convolutional feature map; use attention-rollout or transformer-attribution")
    }

    public static func isRandomisationUnit(_ module: Module) -> Bool { false }

    public static func lrpComposite(_ layerMap: [(kind: LayerKind, rule: any RelevanceRule)],
                                    fallback: any RelevanceRule) -> any Composite {
        LayerMapComposite(layerMap, fallback: fallback)
    }
}

/// A family's configuration: timm's `model_args` as a value.
public protocol ModelFamilyConfiguration: Codable, Sendable, Equatable {
    associatedtype Family: ModelFamily where Family.Configuration == Self
    var numClasses: Int { get }
    var inChannels: Int { get }
}

/// Values a model needs, in float32 values: parameters and buffers, the
/// activations one image records on the tape, and the working memory
/// (scratchpad) each oneDNN call may take.
public struct MemoryEstimate: Sendable, Equatable {
    public var parameters: Int
    public var activationsPerImage: Int
    /// Floats of oneDNN working memory one call may take: `Conv2d.scratchpadBudget`
    /// for networks whose 1x1 and 3x3 backward products run on oneDNN
    /// (`ConvolutionShape.backwardRunsOnOneDNN`), else 0.
    public var scratchpadPerCall: Int

    public init(parameters: Int, activationsPerImage: Int, scratchpadPerCall: Int = 0) {
        self.parameters = parameters; self.activationsPerImage = activationsPerImage
        self.scratchpadPerCall = scratchpadPerCall
    }

    /// oneDNN calls that may run at once: one per body of `concurrently`
    /// (the two relevance passes, GAE's two orders or its batch and
    /// mosaics), which runs two at once with two cores or more; a call runs
    /// its own threads and takes one scratchpad.
    public static var concurrentCalls: Int { min(2, parallelWidth) }

    /// Bytes for a batch of `batch` images: weights, their derived copies
    /// (|W| and W + |W| cached or derived per product, at most twice the
    /// weights), the activations, and the scratchpads of the oneDNN calls
    /// that may run at once.
    public func bytes(batch: Int = 1) -> Int {
        let weights = Saturating.multiply(parameters, 3)
        let scratch = Saturating.multiply(scratchpadPerCall, Self.concurrentCalls)
        return Saturating.multiply(Saturating.sum([weights, Saturating.multiply(activationsPerImage, batch), scratch]), 4)
    }
}

/// Integer arithmetic that saturates at `Int.max` instead of trapping: for
/// size estimates from untrusted configurations.
public enum Saturating {
    public static func add(_ a: Int, _ b: Int) -> Int {
        let (r, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : r
    }

    public static func multiply(_ a: Int, _ b: Int) -> Int {
        let (r, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : r
    }

    public static func product(_ values: [Int]) -> Int { values.reduce(1, multiply) }
    public static func sum(_ values: [Int]) -> Int { values.reduce(0, add) }
}

/// A family with its configuration, as ``ModelConfiguration`` holds it: every
/// question about the model is answered by the family's own code (the
/// closures are the family's functions applied to the configuration).
public struct Architecture: Sendable {
    public let family: any ModelFamily.Type
    public let configuration: any ModelFamilyConfiguration
    private let network: @Sendable () -> Module
    private let validate: @Sendable (Int, Int, String) throws -> Void
    private let estimate: @Sendable (Int, Int) -> MemoryEstimate
    private let features: @Sendable () -> Int
    private let inputSize: @Sendable () -> [Int]
    private let arguments: @Sendable () throws -> JSONValue
    private let equals: @Sendable (any ModelFamilyConfiguration) -> Bool

    public init<C: ModelFamilyConfiguration>(_ configuration: C) {
        family = C.Family.self
        self.configuration = configuration
        network = { C.Family.makeNetwork(configuration) }
        validate = { try C.Family.validateInput(height: $0, width: $1, configuration, model: $2) }
        estimate = { C.Family.memoryEstimate(configuration, height: $0, width: $1) }
        features = { C.Family.numFeatures(configuration) }
        inputSize = { C.Family.defaultInputSize(configuration) }
        arguments = { try JSONValue(encoding: configuration) }
        equals = { ($0 as? C) == configuration }
    }

    /// "vgg", "resnet" or "vision_transformer", as in configuration files.
    public var familyName: String { family.name }
    public var kind: ModelKind { family.kind }
    public var numClasses: Int { configuration.numClasses }
    public var inChannels: Int { configuration.inChannels }

    /// The configuration as `C`, or nil for another family.
    public func configuration<C: ModelFamilyConfiguration>(as type: C.Type) -> C? { configuration as? C }

    /// ``ModelFamily/makeNetwork(_:)``.
    public func makeNetwork() -> Module { network() }

    /// ``ModelFamily/validateInput(height:width:_:model:)``.
    public func validateInput(height: Int, width: Int, model: String) throws { try validate(height, width, model) }

    /// ``ModelFamily/memoryEstimate(_:height:width:)``.
    public func memoryEstimate(height: Int, width: Int) -> MemoryEstimate { estimate(height, width) }

    /// ``ModelFamily/numFeatures(_:)``.
    public var numFeatures: Int { features() }

    /// ``ModelFamily/defaultInputSize(_:)``.
    public var defaultInputSize: [Int] { inputSize() }

    /// timm's `model_args` of this configuration, as JSON.
    public func modelArguments() throws -> JSONValue { try arguments() }
}

extension Architecture: Equatable {
    public static func == (lhs: Architecture, rhs: Architecture) -> Bool { lhs.equals(rhs.configuration) }
}

/// The cascading model-parameter randomization test (Adebayo et al. 2018,
/// "Sanity Checks for Saliency Maps", section 3.1): re-initialise the
/// model's parameters one group at a time from the output down, keeping the
/// groups randomised so far, and after each step measure how similar each
/// method's maps still are to its maps of the trained model. A method whose
/// maps explain the model should lose that similarity as the model is destroyed.
///
/// Groups (``ModelRandomization/parameterGroups(of:)``; the units are the
/// family's, ``ModelFamily/isRandomisationUnit(_:)``), from the top:
/// - VGG: `head.fc`, `pre_logits.fc2`, `pre_logits.fc1`, then each
///   convolution of `features` from the last (with its BatchNorm);
/// - ResNet: `fc`, each residual block from `layer4`'s last down to
///   `layer1.0` (with its downsample), then the stem `conv1` + `bn1`;
/// - ViT: `head`, `norm`, each block from the last, `patch_embed.proj`, then
///   `cls_token` + `pos_embed`.
///
/// Re-initialisation copies the group's parameters (and BatchNorm buffers)
/// from a model of the same configuration built with
/// ``Classifier/randomizeWeights(seed:)`` (He-normal weights), so it uses one
/// extra model's memory. The explained class stays each image's prediction by
/// the trained model. Similarity at step `k`, per image: Spearman's rank
/// correlation of the pixel magnitudes `sum_c |r|` of the map at step `k`
/// with those of the trained model's map (``MapSimilarity``), then averaged
/// over the images. Step 0 recomputes the maps of the unchanged model (1 for
/// deterministic methods; near 0 for `random`, which draws new noise).
///
/// The methods' classifier is modified during ``run(_:progress:)`` and
/// restored before it returns, also when it throws: do not use it
/// concurrently.
public struct ModelRandomization {
    public let methods: [RelevancyMethod]
    /// Images per relevance call.
    public let batchSize: Int
    /// Seed of the random weights.
    public let seed: UInt64

    public init(methods: [RelevancyMethod], batchSize: Int = 8, seed: UInt64 = 0) {
        self.methods = methods; self.batchSize = batchSize; self.seed = seed
    }

    /// Parameters re-initialised together: (module, local state name) pairs.
    public struct ParameterGroup {
        /// The modules' names joined by `+` (`features.0+features.1`).
        public let name: String
        public let entries: [(module: Module, local: String)]
    }

    /// The groups of `classifier`, output side first (see the type's description).
    public static func parameterGroups(of classifier: Classifier) -> [ParameterGroup] {
        var units: [[Module]] = []
        let family = classifier.configuration.architecture.family
        func collect(_ module: Module) {
            let isUnit = family.isRandomisationUnit(module) || (module.children.isEmpty && !module.stateShapes.isEmpty)
            if isUnit {
                // A BatchNorm joins the convolution it normalises.
                if module is BatchNorm2d, let last = units.last?.last, last is Conv2d { units[units.count - 1].append(module) }
                else { units.append([module]) }
            } else {
                module.children.forEach(collect)
            }
        }
        let network = classifier.network
        network.children.forEach(collect)
        var groups = units.map { modules in
            ParameterGroup(name: modules.map(\.name).joined(separator: "+"),
                           entries: modules.flatMap { m in m.allModules.flatMap { s in s.stateShapes.map { (s, $0.name) } } })
        }
        if !network.stateShapes.isEmpty {  // the ViT's class token and position embedding, at the input
            groups.insert(ParameterGroup(name: network.stateShapes.map(\.name).joined(separator: "+"),
                                         entries: network.stateShapes.map { (network, $0.name) }), at: 0)
        }
        return groups.reversed()
    }

    /// Runs the test on `images` (N, C, H, W), preprocessed for the model;
    /// `maps(step, method, relevance)` receives every method's maps (N, C, H, W)
    /// after each step (step 0: the trained model), for figures of the
    /// cascade; `progress` receives a line per step.
    public func run(_ images: Tensor, maps: ((Int, Int, Tensor) -> Void)? = nil,
                    progress: (String) -> Void = { _ in }) throws -> ModelRandomizationReport {
        let classifier = try validatedSanityCheck(methods: methods, images: images, batchSize: batchSize)
        let targets = classifier.logits(images, batchSize: batchSize).argmaxRows()
        let groups = Self.parameterGroups(of: classifier)
        let donor = Classifier(configuration: classifier.configuration)
        donor.randomizeWeights(seed: seed)
        let donorModules = Dictionary(uniqueKeysWithValues: donor.network.allModules.map { ($0.name, $0) })
        let trained = groups.flatMap(\.entries).map { ($0.module, $0.local, $0.module.parameter($0.local)) }
        defer { for (module, local, value) in trained { module.setParameter(local, value) } }

        let magnitudes = { (method: RelevancyMethod) in
            MapSimilarity.pixelMagnitudes(try method.relevance(images, targets: targets, batchSize: batchSize))
        }
        let reference = try methods.map(magnitudes)
        var spearman = [[MeanAndDeviation]](repeating: [], count: methods.count)
        for step in 0...groups.count {
            if step > 0 {
                for (module, local) in groups[step - 1].entries {
                    module.setParameter(local, donorModules[module.name]!.parameter(local))
                }
            }
            for (m, method) in methods.enumerated() {
                let relevance = try method.relevance(images, targets: targets, batchSize: batchSize)
                maps?(step, m, relevance)
                let magnitudes = MapSimilarity.pixelMagnitudes(relevance)
                spearman[m].append(MeanAndDeviation(zip(reference[m], magnitudes).map { MapSimilarity.spearman($0, $1) }))
            }
            let summary = zip(methods, spearman).map { "\($0.name) \(String(format: "%.3f", $1[step].mean))" }
            progress("step \(step)/\(groups.count) \(step == 0 ? "trained model" : "randomised to \(groups[step - 1].name)"): "
                     + summary.joined(separator: ", "))
        }
        return ModelRandomizationReport(
            model: classifier.configuration.name, images: images.shape[0], seed: seed,
            steps: ["none"] + groups.map(\.name),
            methods: zip(methods, spearman).map { .init(method: $0.name, spearman: $1) })
    }
}

/// The outcome of ``ModelRandomization``: per method, the similarity of its
/// maps to the trained model's after each step.
public struct ModelRandomizationReport: Codable, Equatable, Sendable {
    public var model: String
    public var images: Int
    public var seed: UInt64
    /// What is randomised after each step, cumulatively: `none`, then the
    /// groups from the output down.
    public var steps: [String]
    public var methods: [MethodCurve]

    /// One method's Spearman correlation with its trained-model maps, per step
    /// (mean and deviation over the images).
    public struct MethodCurve: Codable, Equatable, Sendable {
        public var method: String
        public var spearman: [MeanAndDeviation]
    }
}

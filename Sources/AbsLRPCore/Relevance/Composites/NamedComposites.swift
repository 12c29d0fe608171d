/// The library's composites by the names users type (`--composite`): every
/// model family's absLRP composite, `abslrp-FAMILY` (`abslrp-vgg`: max pools
/// do not divide; `abslrp-resnet`; `abslrp-vision_transformer`: identities
/// pass relevance through), and Zennit 0.5.1's standard composites
/// (`ZennitComposites.names`: `epsilon-plus`, ...), each with the canonizers
/// it is used with (Zennit's: BatchNorm merged into the preceding convolution).
public enum NamedComposites {
    /// Every name, the families' first.
    public static let names = ModelFamilies.all.map { "abslrp-" + $0.name } + ZennitComposites.names

    /// The composite `name` for `classifier` and its canonizers; `epsilon` and
    /// `gamma` are the Zennit composites' (`ZennitComposites.composite(named:for:epsilon:gamma:)`).
    /// - Throws: `RelevancyMethodError.unknownComposite` naming the valid
    ///   names; what `ZennitComposites` throws (convolutional networks only,
    ///   invalid epsilon or gamma).
    public static func make(_ name: String, for classifier: Classifier, epsilon: Float = 1e-6,
                            gamma: Float = 0.25) throws -> (composite: any Composite, canonizers: [any Canonizer]) {
        if let family = ModelFamilies.all.first(where: { "abslrp-" + $0.name == name }) { return (family.absLRPComposite, []) }
        guard ZennitComposites.names.contains(name) else { throw RelevancyMethodError.unknownComposite(name, known: names) }
        do {
            return (try ZennitComposites.composite(named: name, for: classifier, epsilon: epsilon, gamma: gamma),
                    ZennitComposites.canonizers)
        } catch RelevancyMethodError.notApplicable(_, let architecture, let reason) {
            throw RelevancyMethodError.notApplicable(method: "abslrp:\(name)", architecture: architecture, reason: reason)
        }
    }
}

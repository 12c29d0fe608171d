import XCTest
import AbsLRPCore

/// Composites map layers to rules as Zennit's do (by type, by name, a
/// special first layer, mixed: first match wins), the families' absLRP
/// composites hold the reference's choices, and a user's own composite
/// changes what a method computes.
final class CompositeTests: XCTestCase {
    /// The rule each named operation of `network` takes under `composite`, as a type name.
    func ruleNames(_ composite: any Composite, _ network: Module) -> [String: String] {
        let map = composite.ruleMap(for: network)
        return Dictionary(uniqueKeysWithValues: network.operations.map { ($0.name, "\(type(of: map[$0]))") })
    }

    func testLayerMapTakesTheFirstMatchingKindAndFallsBack() {
        let network = TinyModels.vgg().network
        let names = ruleNames(LayerMapComposite([(.convolution, ZPlusRule()), (.affine, FlatRule()), (.activation, PassRule())]),
                              network)
        for op in network.operations {
            let expected = op is Conv2d ? "ZPlusRule" : op is Linear ? "FlatRule" : op is ReLU ? "PassRule" : "GradientRule"
            XCTAssertEqual(names[op.name], expected, op.name)
        }
    }

    func testNameMapSpecialFirstLayerAndMixed() {
        let network = TinyModels.vgg().network
        let convolutions = network.operations.compactMap { $0 as? Conv2d }
        XCTAssertGreaterThan(convolutions.count, 2)
        let (first, second) = (convolutions[0].name, convolutions[1].name)
        let byName = NameMapComposite([([second], WSquareRule())])
        let layers = LayerMapComposite([(.convolution, ZPlusRule())], fallback: EpsilonRule())
        let special = SpecialFirstLayerMapComposite(layers, firstMap: [(.convolution, FlatRule())])
        var names = ruleNames(special, network)
        XCTAssertEqual(names[first], "FlatRule")
        XCTAssertEqual(names[second], "ZPlusRule")
        XCTAssertEqual(names[convolutions[2].name], "ZPlusRule")
        names = ruleNames(MixedComposite([byName, special]), network)
        XCTAssertEqual(names[first], "FlatRule")
        XCTAssertEqual(names[second], "WSquareRule", "the name map comes first")
        XCTAssertEqual(names[convolutions[2].name], "ZPlusRule")
        XCTAssertEqual(ruleNames(byName, network)[first], "GradientRule", "unmapped: the gradient, as in Zennit")
        // no composites (it trapped): the gradient everywhere, as Zennit's
        XCTAssertEqual(Set(ruleNames(MixedComposite([]), network).values), ["GradientRule"])
    }

    func testFamilyAbsLRPCompositesHoldTheReferencesChoices() {
        let vgg = TinyModels.vgg()
        let vggMap = vgg.absLRPComposite.ruleMap(for: vgg.network)
        for op in vgg.network.operations {
            guard let rule = vggMap[op] as? AbsLRPRule else { return XCTFail("\(op.name): not absLRP") }
            XCTAssertEqual(rule.dividesRelevance, !(op is MaxPool2d), op.name)
        }
        let vit = TinyModels.vit()
        let vitMap = vit.absLRPComposite.ruleMap(for: vit.network)
        for op in vit.network.operations {
            XCTAssertEqual(vitMap[op] is PassRule, op is Identity, op.name)
        }
        let lrp = vit.lrpComposite([], fallback: EpsilonRule()).ruleMap(for: vit.network)
        let softmaxes = vit.network.operations.filter { $0 is Softmax }
        XCTAssertFalse(softmaxes.isEmpty)
        XCTAssertTrue(softmaxes.allSatisfy { lrp[$0] is ConstantRule }, "CP-LRP: the attention is a constant")
    }

    /// A user's composite reaches the backward walk: absLRP under its own
    /// family composite is the default, and giving VGG's max pools the
    /// dividing rule changes the map.
    func testAUsersCompositeChangesTheResult() throws {
        let classifier = TinyModels.vgg()
        let x = TinyModels.input(for: classifier)
        let standard = try AbsLRP(classifier: classifier).relevance(x, targets: nil)
        XCTAssertEqual(try AbsLRP(classifier: classifier, composite: VGG.absLRPComposite).relevance(x, targets: nil), standard)
        let dividing = try AbsLRP(classifier: classifier, composite: LayerMapComposite([], fallback: AbsLRPRule()))
            .relevance(x, targets: nil)
        XCTAssertGreaterThan(maxAbsDifference(dividing, standard), 1e-3)
        let flatFirst = try LayerwiseRelevance(name: "mine", classifier: classifier, composite: SpecialFirstLayerMapComposite(
            LayerMapComposite([], fallback: EpsilonRule()), firstMap: [(.convolution, FlatRule())]))
        let epsilon = try LayerwiseRelevance.epsilon(classifier: classifier, epsilon: 1e-6)
        XCTAssertGreaterThan(maxAbsDifference(try flatFirst.relevance(x, targets: nil), try epsilon.relevance(x, targets: nil)), 1e-3)
    }

    /// A rule placed where it cannot run (an affine rule on a ReLU or a max
    /// pool, the pass rule on a pool or a residual addition, z+ as the
    /// fallback) is a thrown `CompositeError` when the composite is applied,
    /// naming the layer; before, the first pass trapped.
    func testARuleWhereItCannotRunIsRefusedWhenTheCompositeIsApplied() throws {
        let vgg = TinyModels.vgg(), resnet = TinyModels.resnet()
        let relu = try XCTUnwrap(vgg.network.operations.first { $0 is ReLU }).name
        let pool = try XCTUnwrap(vgg.network.operations.first { $0 is MaxPool2d }).name
        let cases: [(Classifier, any Composite, String, String, String)] = [
            (vgg, LayerMapComposite([(.activation, ZPlusRule())]), relu, "ReLU", "the z+ rule applies to Conv2d and Linear only"),
            (vgg, NameMapComposite([([pool], AlphaBetaRule.alpha2Beta1())]), pool, "MaxPool2d", "the alpha-beta rule applies to Conv2d and Linear only"),
            (vgg, LayerMapComposite([(.affine, GammaRule())], fallback: FlatRule()), relu, "ReLU",
             "the flat rule applies to Conv2d and Linear only"),
            (vgg, LayerMapComposite([(.type(MaxPool2d.self), PassRule())]), pool, "MaxPool2d", "the pass rule needs one input of the output's size"),
            (resnet, LayerMapComposite([(.type(ResidualAddition.self), PassRule())]), "layer1.0.residual_addition",
             "ResidualAddition", "the pass rule needs one input of the output's size"),
            (vgg, SpecialFirstLayerMapComposite(LayerMapComposite([]), firstMap: [(.convolution, try ZBoxRule(low: [0, 0], high: [1, 1]))]),
             vgg.network.operations.first { $0 is Conv2d }!.name, "Conv2d", "the z-box rule has 2 bounds per side for"),
        ]
        for (classifier, composite, layer, type, reason) in cases {
            for make in [{ _ = try AbsLRP(classifier: classifier, composite: composite) },
                         { _ = try LayerwiseRelevance(name: "mine", classifier: classifier, composite: composite) }] {
                XCTAssertThrowsError(try make(), "\(composite)") { error in
                    guard case let .ruleDoesNotApply(operation, layerType, _, why)? = error as? CompositeError else {
                        return XCTFail("\(error)")
                    }
                    XCTAssertEqual([operation, layerType], [layer, type])
                    XCTAssertTrue(why.hasPrefix(reason), why)
                    XCTAssertTrue("\(error)".contains("'\(layer)' (\(type)), where it cannot run"), "\(error)")
                }
            }
        }
        // the rules where they apply are accepted
        XCTAssertNoThrow(try AbsLRP(classifier: vgg, composite: LayerMapComposite([(.affine, ZPlusRule()), (.activation, PassRule())],
                                                                                   fallback: AbsLRPRule())))
    }

    /// ResNet's residual additions and VGG ConvMlp's adaptive pool are
    /// registered children: a composite reaches them by type and by name.
    /// Evidence: a constant rule there cuts every path to the input (each
    /// tiny model has one block per stage, and its 4x4 map is pooled up to 7x7).
    func testCompositesReachResidualAdditionsAndTheConvMlpPool() throws {
        let resnet = TinyModels.resnet()
        XCTAssertEqual(resnet.network.operations.filter { $0 is ResidualAddition }.map(\.name),
                       (1...4).map { "layer\($0).0.residual_addition" })
        let vgg = TinyModels.vgg()
        XCTAssertTrue(vgg.network.operations.contains { $0.name == "pre_logits.adaptive_pool" })
        func lrp(_ classifier: Classifier, _ composite: any Composite) throws -> Tensor {
            try LayerwiseRelevance(name: "lrp", classifier: classifier, composite: composite)
                .attribution(TinyModels.input(for: classifier), targets: nil)
        }
        let cases: [(Classifier, any Composite)] = [
            (resnet, LayerMapComposite([(.type(ResidualAddition.self), ConstantRule())], fallback: EpsilonRule())),
            (resnet, NameMapComposite([(["layer4.0.residual_addition"], ConstantRule())], fallback: EpsilonRule())),
            (vgg, LayerMapComposite([(.averagePool, ConstantRule())], fallback: EpsilonRule())),
            (vgg, NameMapComposite([(["pre_logits.adaptive_pool"], ConstantRule())], fallback: EpsilonRule())),
        ]
        for (classifier, composite) in cases {
            let plain = try lrp(classifier, LayerMapComposite([], fallback: EpsilonRule()))
            XCTAssertGreaterThan(plain.storage.map(abs).max() ?? 0, 1e-4, "\(composite)")
            XCTAssertEqual(try lrp(classifier, composite).storage.map(abs).max(), 0, "\(composite)")
        }
    }

    /// Every named composite (`--composite`) builds for the CNNs; the
    /// families' are their absLRP composites (the model's own is the
    /// default absLRP), Zennit's come with the BatchNorm merge and refuse
    /// ViTs; an unknown name lists the valid ones.
    func testNamedCompositesAreTheFamiliesAndZennits() throws {
        XCTAssertEqual(NamedComposites.names, ["abslrp-vgg", "abslrp-resnet", "abslrp-vision_transformer", "epsilon-plus",
                                               "epsilon-plus-flat", "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat",
                                               "epsilon-gamma-box"])
        let vgg = TinyModels.vgg()
        let x = TinyModels.input(for: vgg)
        for name in NamedComposites.names {
            let (composite, canonizers) = try NamedComposites.make(name, for: vgg)
            XCTAssertEqual(canonizers.isEmpty, name.hasPrefix("abslrp-"), name)
            let map = try AbsLRP(classifier: vgg, composite: composite, canonizers: canonizers, name: name).relevance(x, targets: nil)
            XCTAssertEqual(map.shape, x.shape, name)
            XCTAssertTrue(map.storage.allSatisfy(\.isFinite), name)
        }
        let own = try RelevancyMethods.make("abslrp", classifier: vgg, options: RelevancyMethodOptions(abslrpComposite: "abslrp-vgg"))
        XCTAssertEqual(own.name, "abslrp:abslrp-vgg")
        XCTAssertEqual(try own.relevance(x, targets: nil), try AbsLRP(classifier: vgg).relevance(x, targets: nil))
        let zennit = try NamedComposites.make("epsilon-plus", for: vgg)
        let lrpMap = ruleNames(zennit.composite, vgg.network)
        XCTAssertEqual(lrpMap[vgg.network.operations.first { $0 is Conv2d }!.name], "ZPlusRule")
        XCTAssertThrowsError(try NamedComposites.make("epsilon-plus", for: TinyModels.vit())) { error in
            XCTAssertTrue("\(error)".hasPrefix("method 'abslrp:epsilon-plus' does not apply to vision_transformer models"), "\(error)")
        }
        XCTAssertThrowsError(try NamedComposites.make("lrp", for: vgg)) { error in
            XCTAssertEqual(error as? RelevancyMethodError, .unknownComposite("lrp", known: NamedComposites.names))
            XCTAssertTrue("\(error)".contains("available: abslrp-vgg, abslrp-resnet"), "\(error)")
        }
    }

    /// Zennit's composites give `Norm` to the average pools that are timm
    /// modules (ResNet-D's `downsample.0` AvgPool2d, the head's global pool)
    /// and the gradient to ConvMlp's pool, which timm calls as a function.
    func testZennitCompositesMapTheAveragePoolModulesOnly() throws {
        let vgg = TinyModels.vgg()
        var names = ruleNames(ZennitComposites.epsilonPlus(), vgg.network)
        XCTAssertEqual(names["pre_logits.adaptive_pool"], "GradientRule")
        XCTAssertEqual(names["head.global_pool.pool"], "EpsilonRule")
        let configuration = ModelConfiguration(
            architecture: .resnet(ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], channels: [4, 8, 8, 8],
                                                      numClasses: 5, avgDown: true)),
            inputSize: [3, 64, 64], mean: [0, 0, 0], std: [1, 1, 1], cropPct: 1, name: "resnet_d_tiny")
        let network = Classifier(configuration: configuration).network
        names = ruleNames(ZennitComposites.epsilonPlus(), network)
        XCTAssertEqual(names["layer2.0.downsample.0"], "EpsilonRule")
        XCTAssertEqual(names["layer2.0.residual_addition"], "GradientRule")
    }
}

import XCTest
import AbsLRPCore

/// The bundled models and samples come from the resource bundle (not from
/// the checkout or the working directory), and a missing one is an error.
final class BundledResourcesTests: XCTestCase {
    func testBundledModelsAndSamplesAreReadFromTheResourceBundle() throws {
        let weights = try BundledResources.weightsDirectory()
        XCTAssertTrue(weights.path.contains(".resources") || weights.path.contains(".bundle"), weights.path)
        XCTAssertEqual(try ModelCatalog.bundledModelNames(), ["resnet_fmnist", "vgg_fmnist", "vit_fmnist"])
        let sneaker = try BundledResources.sample(named: "07_sneaker.png")
        XCTAssertEqual(try RGBImage.decode(contentsOf: sneaker).width, 28)
    }

    func testAMissingSampleIsAThrownErrorNamingIt() {
        XCTAssertThrowsError(try BundledResources.sample(named: "99_nothing.png")) { error in
            XCTAssertEqual(error as? BundledResourceError, .missing("Samples/99_nothing.png"))
        }
    }

    /// A bundled name with `--weights` is the bundled configuration with those
    /// weights (it was refused as an unknown model while listing the name).
    func testABundledNameWithOtherWeightsUsesTheBundledConfiguration() throws {
        let weights = try BundledResources.weightsDirectory().appendingPathComponent("resnet_fmnist.safetensors")
        let classifier = try ModelCatalog.load(model: "resnet_fmnist", weights: weights, config: nil)
        XCTAssertEqual(classifier.configuration.name, try ModelCatalog.load(model: "resnet_fmnist", weights: nil, config: nil)
                        .configuration.name)
        XCTAssertThrowsError(try ModelCatalog.load(model: "vit_fmnist", weights: weights, config: nil)) { error in
            XCTAssertFalse(error is ModelCatalogError, "the ResNet's weights do not fit the ViT: \(error)")
        }
    }

    func testAnUnknownModelNameListsTheBundledOnes() {
        XCTAssertThrowsError(try ModelCatalog.load(model: "no_such_model", weights: nil, config: nil)) { error in
            XCTAssertEqual(error as? ModelCatalogError,
                           .unknownModel("no_such_model", bundled: ["resnet_fmnist", "vgg_fmnist", "vit_fmnist"]))
        }
    }
}

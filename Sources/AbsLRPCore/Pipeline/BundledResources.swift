import Foundation

/// The files this package ships as SwiftPM resources of `AbsLRPCore`, read
/// through `Bundle.module` so they are found from any package that depends
/// on this one (the checkout's `Weights` and `Samples` are links to the same
/// folders):
///
///     Resources/Weights/NAME.json, NAME.safetensors   bundled Fashion-MNIST models (configuration with class names, weights)
///     Resources/Samples/NN_name.png                   sample images the examples use
///     Resources/timm_models.json                      timm's name table (`TimmModels`)
public enum BundledResources {
    /// The folder of bundled models.
    public static func weightsDirectory() throws -> URL { try folder("Weights") }

    /// The folder of sample images.
    public static func samplesDirectory() throws -> URL { try folder("Samples") }

    /// One sample image, e.g. `sample(named: "07_sneaker.png")`.
    public static func sample(named name: String) throws -> URL {
        let url = try samplesDirectory().appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BundledResourceError.missing("Samples/\(name)")
        }
        return url
    }

    private static func folder(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil) else {
            throw BundledResourceError.missing(name)
        }
        return url
    }
}

/// A resource that the package's resource bundle does not hold.
public enum BundledResourceError: Error, CustomStringConvertible, Equatable {
    case missing(String)

    public var description: String {
        switch self {
        case .missing(let name):
            return "the AbsLRPCore resource bundle has no \(name): rebuild the package (SwiftPM copies its resources next to the built products)"
        }
    }
}

import ArgumentParser
import AbsLRPCore

extension Preprocessing: ExpressibleByArgument {}

/// Which pipeline prepares image files (explain, evaluate, check).
struct PreprocessingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "reference: the paper's preprocess_image (resize to size*256/224 square, antialiased bilinear, centre crop); "
            + "timm: the model's pretrained_cfg eval transform (shorter side to size/crop_pct with its interpolation, "
            + "centre crop), for a hub model's own accuracy.", valueName: "reference|timm"))
    var preprocessing: Preprocessing = .reference
}

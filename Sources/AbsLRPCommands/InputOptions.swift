import ArgumentParser
import AbsLRPCore
import Foundation

/// What a command explains: image files and folders, or a preprocessed batch.
struct InputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Image files (PNG, JPEG) or folders of images.", valueName: "image"))
    var images: [String] = []

    @Option(name: .long, help: ArgumentHelp("A safetensors file whose `input` tensor (B, C, H, W) is already preprocessed.",
                                            valueName: "file"))
    var tensor: String?

    @Option(name: .long, help: "Images per batch.")
    var batchSize = 8

    @Option(name: .long, help: ArgumentHelp("Refuse images larger than this many pixels, before decoding them.",
                                            valueName: "pixels"))
    var maxPixels = RGBImage.defaultMaxPixels

    func validate() throws {
        try refuseEmptyPaths(["--tensor": tensor, "an image argument": images.contains("") ? "" : nil])
        guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        if tensor != nil && !images.isEmpty { throw ValidationError("give image files or --tensor, not both") }
        if tensor == nil && images.isEmpty { throw ValidationError("name image files or folders, or --tensor FILE") }
    }

    /// The inputs as an explain-job source.
    func source() throws -> ExplainJob.Source {
        try tensor.map { .tensorFile(URL(fileURLWithPath: $0)) } ?? .images(InputImages.collect(images))
    }
}

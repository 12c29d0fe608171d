import Foundation

/// The fields of timm's `pretrained_cfg` that decide what an input looks
/// like, as `timm.data.resolve_data_config` reads them (with
/// `use_test_size=False`, timm's default for inference).
///
/// | field | type | use |
/// |---|---|---|
/// | `input_size` | `[C, H, W]` | the model's input; `reference` and `timm` crop to `H x W` |
/// | `interpolation` | `nearest`, `box`, `bilinear`, `hamming`, `bicubic`, `lanczos` | `timm`'s resize filter (default `bicubic`, as timm) |
/// | `crop_pct` | number in (0, 1] | `timm` resizes to `floor(size / crop_pct)` (default 0.875) |
/// | `crop_mode` | `center`, `squash`, `border` | `timm`'s geometry (default `center`) |
/// | `mean`, `std` | C numbers (or 1, repeated) | normalisation, both pipelines; see ``statistics()`` |
/// | `test_input_size`, `test_crop_pct` | as `input_size`, `crop_pct` | read and checked; timm uses them only with `use_test_size=True`, and so they change nothing here |
/// | `min_input_size` | `[C, H, W]` | checked: `input_size` must not be smaller |
/// | `fixed_input_size` | bool | read (informational) |
/// | `label_offset` | integer | only 0 is accepted: an offset (a background class at index 0) is refused by name |
///
/// `interpolation: random` and unknown `crop_mode`s are refused by name. A
/// value of the wrong type is an error that quotes the value as the file
/// wrote it. ``PretrainedInputFields`` reads them.
public struct DataConfiguration: Equatable, Sendable {
    /// timm's `crop_mode` values.
    public enum CropMode: String, CaseIterable, Sendable {
        /// Shorter side to the scale size (aspect ratio kept), centre crop.
        case center
        /// Both sides to the scale size (aspect ratio not kept), centre crop.
        case squash
        /// Longer side to the scale size, padded with the mean colour, centre crop.
        case border
    }

    /// (C, H, W) the model takes.
    public var inputSize: [Int]
    /// timm's resize filter.
    public var interpolation: ResamplingFilter
    /// Model input / resized image (timm's `crop_pct`).
    public var cropPct: Double
    public var cropMode: CropMode
    /// Per-channel statistics as the file gives them; nil: the documented defaults (``statistics()``).
    public var mean: [Double]?
    public var std: [Double]?
    /// Read and checked; used only by timm's `use_test_size=True`.
    public var testInputSize: [Int]?
    public var testCropPct: Double?
    /// Smallest input the model accepts, if the file says.
    public var minInputSize: [Int]?
    public var fixedInputSize: Bool?

    /// timm's defaults: bicubic, crop_pct 0.875, centre crop, no statistics given.
    public init(inputSize: [Int], interpolation: ResamplingFilter = .bicubic, cropPct: Double = 0.875,
                cropMode: CropMode = .center, mean: [Double]? = nil, std: [Double]? = nil) {
        self.inputSize = inputSize
        self.interpolation = interpolation
        self.cropPct = cropPct
        self.cropMode = cropMode
        self.mean = mean
        self.std = std
    }

    /// Statistics when a file gives none: ImageNet's (timm's
    /// `IMAGENET_DEFAULT_MEAN/STD`) for three channels; for any other channel
    /// count the average of the three ImageNet values, 0.449 and 0.226, for
    /// every channel (a grey image's expected statistics under ImageNet's colours).
    public static func defaultStatistics(channels: Int) -> (mean: [Float], std: [Float]) {
        if channels == 3 { return (imagenetDefaultMean, imagenetDefaultStd) }
        return (Array(repeating: 0.449, count: channels), Array(repeating: 0.226, count: channels))
    }

    /// The normalisation statistics for `inputSize[0]` channels: the file's
    /// values (one value is repeated for every channel, as timm does), or
    /// ``defaultStatistics(channels:)``.
    /// - Throws: ``DataConfigurationError/statistics(reason:)`` for a count
    ///   that is neither 1 nor C, or a standard deviation that is not positive.
    public func statistics() throws -> (mean: [Float], std: [Float]) {
        let channels = inputSize[0]
        let defaults = Self.defaultStatistics(channels: channels)
        func resolve(_ values: [Double]?, _ fallback: [Float], _ name: String) throws -> [Float] {
            guard let values else { return fallback }
            if values.count == channels { return values.map(Float.init) }
            if values.count == 1 { return Array(repeating: Float(values[0]), count: channels) }
            throw DataConfigurationError.statistics(
                reason: "\(name) has \(values.count) values \(values) for a \(channels)-channel model (give \(channels) or 1)")
        }
        let mean = try resolve(mean, defaults.mean, "mean"), std = try resolve(std, defaults.std, "std")
        try requireFinite(mean, field: "mean")
        try requireFinite(std, field: "std")
        guard std.allSatisfy({ $0 > 0 }) else {
            throw DataConfigurationError.statistics(reason: "std must be positive, got \(std)")
        }
        return (mean, std)
    }

    /// Checks the sizes against each other.
    public func validate() throws {
        guard inputSize.count == 3, inputSize.allSatisfy({ $0 > 0 }) else {
            throw ModelConfigurationError.invalidValue(key: "input_size", value: "\(inputSize)", expected: "[C, H, W] of positive sizes")
        }
        guard cropPct > 0 && cropPct <= 1 else {
            throw ModelConfigurationError.invalidValue(key: "crop_pct", value: "\(cropPct)", expected: "a number in (0, 1]")
        }
        // The resize before the crop, input_size / crop_pct, is an image of its own: at most 65536 per side.
        guard Double(inputSize[1]) / cropPct <= 65536, Double(inputSize[2]) / cropPct <= 65536 else {
            throw ModelConfigurationError.invalidValue(
                key: "crop_pct", value: "\(cropPct)",
                expected: "a value for which input_size / crop_pct (the resize before the crop) is at most 65536 pixels a side")
        }
        if let min = minInputSize, min.count == 3, inputSize[1] < min[1] || inputSize[2] < min[2] {
            throw ModelConfigurationError.invalidValue(key: "input_size", value: "\(inputSize)",
                                                       expected: "at least min_input_size \(min)")
        }
    }
}

/// Images cannot be prepared for a model with this data configuration
/// (found when images are preprocessed, never for a preprocessed tensor).
public enum DataConfigurationError: Error, CustomStringConvertible, Equatable {
    /// Normalisation statistics that do not fit the model's channels.
    case statistics(reason: String)
    /// A model whose inputs are not 1- or 3-channel images.
    case notAnImageModel(channels: Int)

    public var description: String {
        switch self {
        case .statistics(let reason):
            return "cannot normalise images: \(reason)"
        case .notAnImageModel(let channels):
            return "images are 1 (grey) or 3 (RGB) channels, this model takes \(channels): give a preprocessed --tensor"
        }
    }
}

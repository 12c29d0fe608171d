import Foundation

/// The geometry of timm 1.0.11's eval transform (`create_transform` with
/// `is_training=False` on `resolve_data_config`'s output), on 8-bit pixels
/// as Pillow computes it. With `(H, W)` the crop size and
/// `scale = (floor(H / crop_pct), floor(W / crop_pct))`:
///
/// - `center`, square scale: torchvision's `Resize(scale)`: the shorter side
///   to `scale`, the longer to `Int(scale * long / short)`, with the
///   configured filter; then the centre crop.
/// - `center`, non-square scale: timm's `ResizeKeepRatio(scale)` (always
///   bilinear, as timm passes no interpolation there): both sides divided by
///   `min(h / scaleH, w / scaleW)` and rounded half to even; centre crop.
/// - `squash`: both sides to `scale` exactly, configured filter; centre crop.
/// - `border`: `ResizeKeepRatio(scale, longest=1)`: divided by the larger
///   ratio (the image fits inside), configured filter; then centre crop or
///   pad with `round(255 * mean[c])`.
///
/// The centre crop is torchvision's `CenterCrop`: zero-padded first if the
/// image is smaller, top = `round((h - H) / 2)`, half to even.
public struct TimmEvalTransform: Equatable, Sendable {
    public var cropSize: PreprocessingConfig.Size
    public var scaleSize: PreprocessingConfig.Size
    public var interpolation: ResamplingFilter
    public var cropMode: DataConfiguration.CropMode
    /// Padding colour of `border` mode, one byte per channel.
    public var fill: [UInt8]

    /// From the data configuration: crop = `input_size[1...2]`, scale = crop / crop_pct (floored).
    public init(_ data: DataConfiguration, mean: [Float]) {
        cropSize = .init(height: data.inputSize[1], width: data.inputSize[2])
        scaleSize = .init(height: Int((Double(data.inputSize[1]) / data.cropPct).rounded(.down)),
                          width: Int((Double(data.inputSize[2]) / data.cropPct).rounded(.down)))
        interpolation = data.interpolation
        cropMode = data.cropMode
        let given = data.mean.map { m in m.count == mean.count ? m : Array(repeating: m[0], count: mean.count) }
        // Clamped before the conversion: a finite but huge mean must not trap in Int(_:).
        fill = (given ?? mean.map(Double.init)).map { UInt8((255 * min(max($0, 0), 1)).rounded(.toNearestOrEven)) }
    }

    /// The resized and cropped image, `cropSize`, still 8-bit.
    public func apply(_ image: ByteImage) -> ByteImage {
        let size = resizedSize(height: image.height, width: image.width)
        let filter = cropMode == .center && scaleSize.height != scaleSize.width ? .bilinear : interpolation
        let resized = image.resized(width: size.width, height: size.height, filter: filter)
        return Self.centerCropOrPad(resized, to: cropSize, fill: cropMode == .border ? fill : nil)
    }

    /// The size of the resized image, before the crop, for an `height x
    /// width` input. Keeping the aspect ratio, it grows with it: a 1 x N
    /// image becomes `s x s N` (``PreprocessingConfig/preprocessed(_:maxPixels:source:)``
    /// bounds it).
    public func resizedSize(height h: Int, width w: Int) -> PreprocessingConfig.Size {
        switch cropMode {
        case .squash:
            return scaleSize
        case .border:
            return Self.keepRatioSize(height: h, width: w, target: scaleSize, longest: true)
        case .center where scaleSize.height == scaleSize.width:
            let s = scaleSize.height, short = min(h, w), long = max(h, w)
            let newLong = Int(Double(s) * Double(long) / Double(short))
            return .init(height: w <= h ? newLong : s, width: w <= h ? s : newLong)
        case .center:
            return Self.keepRatioSize(height: h, width: w, target: scaleSize, longest: false)
        }
    }

    /// timm's `ResizeKeepRatio.get_params` without randomness.
    static func keepRatioSize(height h: Int, width w: Int, target: PreprocessingConfig.Size,
                              longest: Bool) -> PreprocessingConfig.Size {
        let ratioH = Double(h) / Double(target.height), ratioW = Double(w) / Double(target.width)
        let ratio = longest ? max(ratioH, ratioW) : min(ratioH, ratioW)
        return .init(height: Int((Double(h) / ratio).rounded(.toNearestOrEven)),
                     width: Int((Double(w) / ratio).rounded(.toNearestOrEven)))
    }

    /// torchvision's `center_crop` (fill 0) and timm's `center_crop_or_pad` (fill given):
    /// pad `(size - image) // 2` before and the rest after where the image is
    /// smaller, then crop at `round((image - size) / 2)`.
    static func centerCropOrPad(_ image: ByteImage, to size: PreprocessingConfig.Size, fill: [UInt8]?) -> ByteImage {
        var image = image
        if size.width > image.width || size.height > image.height {
            let left = max(size.width - image.width, 0) / 2, top = max(size.height - image.height, 0) / 2
            image = image.cropped(left: -left, top: -top, width: max(image.width, size.width),
                                  height: max(image.height, size.height), fill: fill)
        }
        let top = Int((Double(image.height - size.height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(image.width - size.width) / 2).rounded(.toNearestOrEven))
        return image.cropped(left: left, top: top, width: size.width, height: size.height)
    }
}

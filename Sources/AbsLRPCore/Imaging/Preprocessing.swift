import Foundation

/// Which published pipeline turns an image file into a model input.
public enum Preprocessing: String, CaseIterable, Sendable {
    /// The reference's `preprocess_image` (the paper's maps and numbers):
    /// bytes / 255, both sides resized to `floor(size * 256 / 224)` with
    /// antialiased bilinear on float (aspect ratio not kept), centre crop to
    /// the input size, normalise. For 224 inputs: 256x256, crop 224.
    case reference
    /// timm's eval transform for the model's `pretrained_cfg`
    /// (``TimmEvalTransform``): a hub model's own accuracy.
    case timm
}

/// How an image becomes a model input: a geometry (``Geometry``), then
/// `(x - mean[c]) / std[c]` per channel.
///
/// With `channels == 1` the image is first reduced to Pillow's `convert('L')`
/// luminance (``RGBImage/grayscale()``).
public struct PreprocessingConfig: Equatable, Sendable {
    /// A height and a width in pixels.
    public struct Size: Equatable, Sendable {
        public var height: Int
        public var width: Int
        public init(height: Int, width: Int) {
            self.height = height
            self.width = width
        }
        /// A square.
        public init(_ side: Int) { self.init(height: side, width: side) }
    }

    /// How pixels are resized and cropped.
    public enum Geometry: Equatable, Sendable {
        /// The reference's: `/ 255`, resize to `resize` (antialiased bilinear
        /// on float, ``resizeBilinearAntialiased(_:height:width:)``), centre crop.
        case reference(resize: Size)
        /// timm's, on 8-bit pixels; `/ 255` at the end.
        case timm(TimmEvalTransform)
    }

    public var geometry: Geometry
    /// Size of the center crop: the model's input size.
    public var cropSize: Size
    /// Per-channel mean subtracted after scaling to [0, 1] (`channels` values).
    public var mean: [Float]
    /// Per-channel standard deviation divided by (`channels` values).
    public var std: [Float]
    /// 3 for RGB models, 1 for greyscale models.
    public var channels: Int

    /// The reference's geometry: resize to `resizeSize`, crop `cropSize`.
    public init(resizeSize: Size, cropSize: Size, mean: [Float], std: [Float], channels: Int = 3) {
        precondition(cropSize.height > 0 && cropSize.width > 0
                     && cropSize.height <= resizeSize.height && cropSize.width <= resizeSize.width,
                     "crop \(cropSize) must be positive and fit inside the resize \(resizeSize)")
        self.init(geometry: .reference(resize: resizeSize), cropSize: cropSize, mean: mean, std: std, channels: channels)
    }

    /// timm's geometry.
    public init(timm transform: TimmEvalTransform, mean: [Float], std: [Float], channels: Int = 3) {
        self.init(geometry: .timm(transform), cropSize: transform.cropSize, mean: mean, std: std, channels: channels)
    }

    private init(geometry: Geometry, cropSize: Size, mean: [Float], std: [Float], channels: Int) {
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3, got \(channels)")
        precondition(mean.count == channels && std.count == channels,
                     "need \(channels) mean and std values, got \(mean.count) and \(std.count)")
        precondition(std.allSatisfy { $0 != 0 }, "std must not contain 0")
        self.geometry = geometry
        self.cropSize = cropSize
        self.mean = mean
        self.std = std
        self.channels = channels
    }

    /// The reference's proportions for an input of `height x width`: resize to
    /// `floor(side * 256 / 224)` per side (256 for 224), crop to the input.
    public static func reference(height: Int, width: Int, mean: [Float], std: [Float], channels: Int = 3) -> PreprocessingConfig {
        PreprocessingConfig(resizeSize: Size(height: height * 256 / 224, width: width * 256 / 224),
                            cropSize: Size(height: height, width: width), mean: mean, std: std, channels: channels)
    }

    /// ImageNet CNN preprocessing (VGG, ResNet): resize 256, crop 224,
    /// mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    public static func imagenetCNN(resize: Int = 256, crop: Int = 224) -> PreprocessingConfig {
        PreprocessingConfig(resizeSize: Size(resize), cropSize: Size(crop),
                            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    }

    /// ViT preprocessing: resize 256, crop 224, mean and std 0.5 per channel.
    public static func imagenetViT(resize: Int = 256, crop: Int = 224) -> PreprocessingConfig {
        PreprocessingConfig(resizeSize: Size(resize), cropSize: Size(crop),
                            mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }

    /// The model input for `image`: a tensor of shape (channels, crop H, crop W).
    public func preprocess(_ image: RGBImage) -> Tensor {
        switch geometry {
        case .reference(let resize):
            let scaled = channels == 1 ? image.grayscaleTensor() : image.toTensor()
            let resized = resizeBilinearAntialiased(scaled, height: resize.height, width: resize.width)
            return normalize(centerCrop(resized, height: cropSize.height, width: cropSize.width))
        case .timm(let transform):
            return normalize(transform.apply(ByteImage(image, channels: channels)).toTensor())
        }
    }

    /// ``preprocess(_:)`` of an image from outside, refused with
    /// ``ImageDecodeError/resizeTooLarge(path:width:height:limit:)`` when the
    /// resized image before the crop would exceed `maxPixels` (timm keeps the
    /// aspect ratio: a 1 x 4,000,000 image would become 15 GB).
    public func preprocessed(_ image: RGBImage, maxPixels: Int = RGBImage.defaultMaxPixels,
                             source: String) throws -> Tensor {
        let size: Size
        switch geometry {
        case .reference(let resize): size = resize
        case .timm(let transform): size = transform.resizedSize(height: image.height, width: image.width)
        }
        let (pixels, overflow) = size.height.multipliedReportingOverflow(by: size.width)
        guard !overflow, pixels <= maxPixels else {
            throw ImageDecodeError.resizeTooLarge(path: source, width: size.width, height: size.height, limit: maxPixels)
        }
        return preprocess(image)
    }

    /// `(x - mean[c]) / std[c]` over a (C, H, W) or (B, C, H, W) tensor, in
    /// float32 as torchvision's `Normalize`.
    public func normalize(_ t: Tensor) -> Tensor {
        mapChannels(t) { x, c in (x - mean[c]) / std[c] }
    }

    /// The inverse of ``normalize(_:)``: `x * std[c] + mean[c]`, giving values
    /// in about [0, 1] for display (not clamped).
    public func denormalize(_ t: Tensor) -> Tensor {
        mapChannels(t) { x, c in x * std[c] + mean[c] }
    }

    private func mapChannels(_ t: Tensor, _ f: (Float, Int) -> Float) -> Tensor {
        precondition((t.rank == 3 || t.rank == 4) && t.shape[t.rank - 3] == channels,
                     "expected (\(channels), H, W) or (B, \(channels), H, W), got \(t.shape)")
        let plane = t.shape[t.rank - 2] * t.shape[t.rank - 1]
        var out = t
        out.storage.withUnsafeMutableBufferPointer { p in
            for (k, start) in stride(from: 0, to: p.count, by: plane).enumerated() {
                let c = k % channels
                for i in start..<(start + plane) { p[i] = f(p[i], c) }
            }
        }
        return out
    }
}

/// torchvision's `CenterCrop` on the last two axes of `t` (shape `[..., H, W]`):
/// top = round((H - height) / 2), left = round((W - width) / 2), Python's
/// round-half-to-even. The crop must fit inside the image.
public func centerCrop(_ t: Tensor, height: Int, width: Int) -> Tensor {
    precondition(t.rank >= 2, "centerCrop needs at least 2 axes, got \(t.shape)")
    let inH = t.shape[t.rank - 2], inW = t.shape[t.rank - 1]
    precondition(height > 0 && width > 0 && height <= inH && width <= inW,
                 "crop \(height)x\(width) does not fit in \(inH)x\(inW)")
    let top = Int((Double(inH - height) / 2).rounded(.toNearestOrEven))
    let left = Int((Double(inW - width) / 2).rounded(.toNearestOrEven))
    let planes = t.count / (inH * inW)
    var shape = t.shape
    shape[t.rank - 2] = height
    shape[t.rank - 1] = width
    var out = [Float](repeating: 0, count: planes * height * width)
    t.storage.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for p in 0..<planes {
                for y in 0..<height {
                    let from = (p * inH + top + y) * inW + left
                    let to = (p * height + y) * width
                    for x in 0..<width { dst[to + x] = src[from + x] }
                }
            }
        }
    }
    return Tensor(shape: shape, storage: out)
}

/// Resizes the last two axes of `t` (shape `[..., H, W]`) to `height x width`
/// like `torch.nn.functional.interpolate(t, size, mode="bilinear",
/// antialias=True, align_corners=False)` on a float tensor, i.e. torchvision's
/// `Resize(size, antialias=True)` (torch's `_upsample_bilinear2d_aa`).
///
/// Separable: the width pass runs first, then the height pass; an axis whose
/// size does not change is skipped. Along one axis, with
/// `scale = in / out`, `support = scale >= 1 ? scale : 1` and
/// `invscale = scale >= 1 ? 1 / scale : 1`, output `i` is
///
///     center = scale * (i + 0.5)
///     xmin   = max(Int(center - support + 0.5), 0)          (truncation)
///     xsize  = min(Int(center + support + 0.5), in) - xmin
///     w(j)   = max(0, 1 - |(j + xmin - center + 0.5) * invscale|),  j < xsize
///     out[i] = sum_j in[xmin + j] * w(j) / sum_j w(j)
///
/// a triangle filter stretched by the downscale factor (antialiasing), and
/// plain bilinear interpolation when upscaling. Weights are computed in float
/// and accumulated in order j = 0, 1, ... as torch does, so results agree with
/// torch to float rounding.
public func resizeBilinearAntialiased(_ t: Tensor, height: Int, width: Int) -> Tensor {
    precondition(t.rank >= 2, "resize needs at least 2 axes, got \(t.shape)")
    let inH = t.shape[t.rank - 2], inW = t.shape[t.rank - 1]
    precondition(inH > 0 && inW > 0 && height > 0 && width > 0,
                 "cannot resize \(inH)x\(inW) to \(height)x\(width)")
    let planes = t.count / (inH * inW)
    var values = t.storage
    if width != inW {
        let filter = AntialiasFilter(inputSize: inW, outputSize: width)
        values = filter.apply(values, outer: planes * inH, inner: 1)
    }
    if height != inH {
        let filter = AntialiasFilter(inputSize: inH, outputSize: height)
        values = filter.apply(values, outer: planes, inner: width)
    }
    var shape = t.shape
    shape[t.rank - 2] = height
    shape[t.rank - 1] = width
    return Tensor(shape: shape, storage: values)
}

/// The per-output-index source window and normalised triangle weights of the
/// antialiased bilinear filter along one axis (see ``resizeBilinearAntialiased(_:height:width:)``).
struct AntialiasFilter {
    let inputSize: Int
    let outputSize: Int
    /// First source index of each output index.
    let start: [Int]
    /// Number of source indices of each output index.
    let count: [Int]
    /// `outputSize * stride` weights, row `i` holding output `i`'s `count[i]` weights.
    let weights: [Float]
    /// Row length of `weights`: torch's `max_interp_size = ceil(support) * 2 + 1`.
    let stride: Int

    init(inputSize: Int, outputSize: Int) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        // Float arithmetic where torch uses float (scale, support, center, weights),
        // double where C++ promotion makes it double (the `+ 0.5` terms).
        let scale = Float(inputSize) / Float(outputSize)
        let support: Float = scale >= 1 ? scale : 1
        let invscale: Float = scale >= 1 ? Float(1.0 / Double(scale)) : 1
        let stride = Int(support.rounded(.up)) * 2 + 1
        var weights = [Float](repeating: 0, count: outputSize * stride)
        var start = [Int](), count = [Int]()
        start.reserveCapacity(outputSize)
        count.reserveCapacity(outputSize)
        for i in 0..<outputSize {
            let center = Float(Double(scale) * (Double(i) + 0.5))
            let xmin = max(Int(Double(center - support) + 0.5), 0)
            let xsize = min(Int(Double(center + support) + 0.5), inputSize) - xmin
            var total: Float = 0
            for j in 0..<xsize {
                let d = Float((Double(Float(j + xmin) - center) + 0.5) * Double(invscale))
                let w: Float = abs(d) < 1 ? 1 - abs(d) : 0
                weights[i * stride + j] = w
                total += w
            }
            if total != 0 {
                for j in 0..<xsize { weights[i * stride + j] /= total }
            }
            start.append(xmin)
            count.append(xsize)
        }
        self.stride = stride
        self.weights = weights
        self.start = start
        self.count = count
    }

    /// Filters `values`, viewed as `outer` blocks of `inputSize * inner` values
    /// where consecutive indices of the filtered axis are `inner` apart, into
    /// `outer` blocks of `outputSize * inner` values.
    func apply(_ values: [Float], outer: Int, inner: Int) -> [Float] {
        precondition(values.count == outer * inputSize * inner)
        var out = [Float](repeating: 0, count: outer * outputSize * inner)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                weights.withUnsafeBufferPointer { w in
                    for o in 0..<outer {
                        let srcBlock = o * inputSize * inner
                        let dstBlock = o * outputSize * inner
                        for i in 0..<outputSize {
                            let first = srcBlock + start[i] * inner
                            let row = i * stride
                            let target = dstBlock + i * inner
                            // out = in[xmin] * w0, then += in[xmin + j] * wj, element by element.
                            let w0 = w[row]
                            for k in 0..<inner { dst[target + k] = src[first + k] * w0 }
                            for j in 1..<max(count[i], 1) {
                                let wj = w[row + j], from = first + j * inner
                                for k in 0..<inner { dst[target + k] += src[from + k] * wj }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

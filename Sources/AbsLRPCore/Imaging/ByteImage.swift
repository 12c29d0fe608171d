import Foundation

/// An 8-bit image with one or three interleaved bands, as Pillow holds an
/// `L` or `RGB` image: `pixels[(y * width + x) * channels + c]`.
///
/// timm's eval transform works on such images (resize, crop, pad) and only
/// converts to float at the end (``toTensor()``), so rounding to bytes after
/// every step is part of what it computes.
public struct ByteImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (Pillow's `L`) or 3 (`RGB`).
    public let channels: Int
    /// `height * width * channels` bytes, row-major, bands interleaved.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && channels > 0, "bad image size \(width)x\(height)x\(channels)")
        precondition(pixels.count == width * height * channels,
                     "a \(width)x\(height)x\(channels) image needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// `image` with 3 bands, or its luminance (``RGBImage/grayscale()``, Pillow's
    /// `convert('L')`) when `channels == 1`.
    public init(_ image: RGBImage, channels: Int) {
        precondition(channels == 1 || channels == 3, "images have 1 or 3 channels, not \(channels)")
        self.init(width: image.width, height: image.height, channels: channels,
                  pixels: channels == 1 ? image.grayscale() : image.pixels)
    }

    /// The `width x height` window whose top-left corner is (`left`, `top`),
    /// as Pillow's `crop((left, top, left + width, top + height))`: pixels
    /// outside the image are `fill[c]` (0 for Pillow's crop).
    public func cropped(left: Int, top: Int, width w: Int, height h: Int, fill: [UInt8]? = nil) -> ByteImage {
        precondition(w >= 0 && h >= 0, "negative crop \(w)x\(h)")
        let fill = fill ?? Array(repeating: 0, count: channels)
        precondition(fill.count == channels, "fill needs \(channels) values")
        var out = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0..<h {
            let sy = top + y
            for x in 0..<w {
                let sx = left + x, d = (y * w + x) * channels
                if sy >= 0 && sy < height && sx >= 0 && sx < width {
                    let s = (sy * width + sx) * channels
                    for c in 0..<channels { out[d + c] = pixels[s + c] }
                } else {
                    for c in 0..<channels { out[d + c] = fill[c] }
                }
            }
        }
        return ByteImage(width: w, height: h, channels: channels, pixels: out)
    }

    /// (C, H, W) float tensor of `byte / 255` (torchvision's `ToTensor`).
    public func toTensor() -> Tensor {
        let plane = width * height
        var values = [Float](repeating: 0, count: plane * channels)
        for i in 0..<plane {
            for c in 0..<channels { values[c * plane + i] = Float(pixels[i * channels + c]) / 255 }
        }
        return Tensor(shape: [channels, height, width], storage: values)
    }
}

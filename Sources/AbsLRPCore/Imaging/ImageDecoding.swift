import CImageIO
import Foundation

/// An 8-bit RGB image: `height` rows of `width` pixels, each pixel three
/// bytes R, G, B (row-major, interleaved: `pixels[(y * width + x) * 3 + c]`).
///
/// Decoding gives the same bytes as Pillow's `Image.open(path).convert('RGB')`
/// (see ``decode(contentsOf:maxPixels:)``). This is the only type of the
/// package that talks to the C image library.
public struct RGBImage: Equatable, Sendable {
    /// Pixels per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `height * width * 3` bytes, interleaved RGB, row-major.
    public var pixels: [UInt8]

    /// Default ceiling on `width * height` for decoding: 100 million pixels
    /// (Pillow warns from 89 million). Larger images are refused from their
    /// header, before any memory is committed.
    public static let defaultMaxPixels = 100_000_000

    /// An image over existing bytes; `pixels.count` must be `height * width * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "a \(width)x\(height) RGB image needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, filledWith color: (r: UInt8, g: UInt8, b: UInt8)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<(width * height) {
                p[3 * i] = color.r
                p[3 * i + 1] = color.g
                p[3 * i + 2] = color.b
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// An image from a float tensor of shape (3, H, W) or (1, H, W) with values
    /// in [0, 1]: each value is clamped to [0, 1] and mapped to
    /// `round(v * 255)` (NaN is 0: callers refuse non-finite inputs before
    /// drawing them, this only keeps a stray NaN from trapping); one channel is
    /// replicated into R, G and B.
    /// (matplotlib truncates `v * 255` instead, so a matplotlib rendering of
    /// the same tensor can be 1 lower in some pixels.)
    public init(tensor: Tensor) {
        precondition(tensor.rank == 3 && (tensor.shape[0] == 1 || tensor.shape[0] == 3),
                     "expected a (3, H, W) or (1, H, W) tensor, got \(tensor.shape)")
        let channels = tensor.shape[0], height = tensor.shape[1], width = tensor.shape[2]
        let plane = height * width
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        tensor.storage.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    for c in 0..<3 {
                        let v = src[(channels == 1 ? 0 : c) * plane + i]
                        dst[3 * i + c] = v.isNaN ? 0 : UInt8((min(max(v, 0), 1) * 255).rounded())
                    }
                }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    // MARK: - Decoding

    /// Decodes the PNG or JPEG at `url` (told apart by their first bytes, not
    /// by the file name) into RGB exactly as Pillow's `convert('RGB')` does:
    /// JPEG with libjpeg's default integer IDCT and fancy upsampling, grey
    /// replicated, CMYK/YCCK with Pillow's Adobe-inverted CMYK formula; PNG
    /// alpha and transparency dropped (not composed), palettes looked up,
    /// 16-bit samples reduced to their high byte (16-bit grey without alpha is
    /// clipped at 255, as Pillow's mode "I;16" is). EXIF orientation is not
    /// applied, as `Image.open` does not apply it.
    ///
    /// - Parameter maxPixels: refuse images with `width * height` above this,
    ///   checked on the header before decoding.
    /// - Throws: ``ImageDecodeError``.
    public static func decode(contentsOf url: URL, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        precondition(maxPixels > 0, "maxPixels must be positive")
        let path = url.path
        var error = [CChar](repeating: 0, count: Int(CIMAGEIO_ERROR_LENGTH))
        var buffer: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        let status = cimageio_decode_rgb(path, Int64(maxPixels), &buffer, &width, &height, &error)
        defer { cimageio_free(buffer) }
        guard status == CIMAGEIO_OK, let buffer else {
            throw ImageDecodeError(status: status, path: path, message: String(cString: error),
                                   width: Int(width), height: Int(height), limit: maxPixels)
        }
        let count = Int(width) * Int(height) * 3
        return RGBImage(width: Int(width), height: Int(height),
                        pixels: Array(UnsafeBufferPointer(start: buffer, count: count)))
    }

    /// ``decode(contentsOf:maxPixels:)`` for a file path.
    public static func decode(contentsOfFile path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try decode(contentsOf: URL(fileURLWithPath: path), maxPixels: maxPixels)
    }

    /// What the header of the PNG or JPEG at `url` says, without decoding
    /// pixels: the size and the channel count of the image as Pillow opens it
    /// (1 grey, 2 grey + alpha, 3 RGB/palette/YCbCr, 4 RGBA/CMYK).
    /// - Throws: ``ImageDecodeError`` (never `.tooLarge`).
    public static func probe(contentsOf url: URL) throws -> (width: Int, height: Int, channels: Int) {
        let path = url.path
        var error = [CChar](repeating: 0, count: Int(CIMAGEIO_ERROR_LENGTH))
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        let status = cimageio_probe(path, &width, &height, &channels, &error)
        guard status == CIMAGEIO_OK else {
            throw ImageDecodeError(status: status, path: path, message: String(cString: error),
                                   width: Int(width), height: Int(height), limit: 0)
        }
        return (Int(width), Int(height), Int(channels))
    }

    // MARK: - Encoding

    /// Writes the image as an 8-bit PNG at `url`; with `alpha` (one byte per
    /// pixel, `height * width`, row-major) the PNG is RGBA.
    ///
    /// The PNG is encoded in memory and written with ``AtomicFile``, so `url`
    /// afterwards holds either its previous content or the whole new image.
    /// - Throws: ``ImageEncodeError`` for an empty image or an alpha plane of
    ///   the wrong size; ``OutputError`` when the folder is missing or not
    ///   writable, the disk is full, or the rename fails.
    public func writePNG(to url: URL, alpha: [UInt8]? = nil) throws {
        try AtomicFile.write(try encodedPNG(alpha: alpha, path: url.path), to: url)
    }

    /// The PNG file of the image, in memory (for pictures embedded in SVG).
    /// - Throws: ``ImageEncodeError`` for an empty image.
    public func pngData() throws -> Data { try encodedPNG(alpha: nil, path: "PNG in memory") }

    /// libpng's encoding; `path` names the destination in errors.
    private func encodedPNG(alpha: [UInt8]?, path: String) throws -> Data {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageEncodeError.encodingFailed(path: path, reason: "the image is \(width)x\(height) pixels")
        }
        var channels: Int32 = 3
        var data = pixels
        if let alpha {
            guard alpha.count == width * height else {
                throw ImageEncodeError.encodingFailed(
                    path: path, reason: "alpha has \(alpha.count) bytes for a \(width)x\(height) image")
            }
            channels = 4
            data = [UInt8](repeating: 0, count: width * height * 4)
            pixels.withUnsafeBufferPointer { rgb in
                alpha.withUnsafeBufferPointer { a in
                    data.withUnsafeMutableBufferPointer { rgba in
                        for i in 0..<(width * height) {
                            rgba[4 * i] = rgb[3 * i]
                            rgba[4 * i + 1] = rgb[3 * i + 1]
                            rgba[4 * i + 2] = rgb[3 * i + 2]
                            rgba[4 * i + 3] = a[i]
                        }
                    }
                }
            }
        }
        var error = [CChar](repeating: 0, count: Int(CIMAGEIO_ERROR_LENGTH))
        var bytes: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard cimageio_encode_png(data, Int32(width), Int32(height), channels, &bytes, &size, &error) == CIMAGEIO_OK,
              let bytes else {
            throw ImageEncodeError.encodingFailed(path: path, reason: String(cString: error))
        }
        defer { cimageio_free(bytes) }
        return Data(bytes: bytes, count: size)
    }

    // MARK: - Tensors and grey

    /// The image as a float tensor of shape (3, H, W) with values `byte / 255`
    /// (torchvision's `ToTensor`), channel-planar.
    public func toTensor() -> Tensor {
        let plane = width * height
        var values = [Float](repeating: 0, count: plane * 3)
        pixels.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    dst[i] = Float(src[3 * i]) / 255
                    dst[plane + i] = Float(src[3 * i + 1]) / 255
                    dst[2 * plane + i] = Float(src[3 * i + 2]) / 255
                }
            }
        }
        return Tensor(shape: [3, height, width], storage: values)
    }

    /// Luminance as Pillow's `convert('L')` computes it, one byte per pixel
    /// (`height * width`, row-major):
    /// `L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16`,
    /// ITU-R 601-2 weights 0.299, 0.587, 0.114 in 16-bit fixed point, rounded.
    /// (The often-quoted `(R*299 + G*587 + B*114) / 1000` truncates and differs
    /// from Pillow in about half of all colours.)
    public func grayscale() -> [UInt8] {
        let plane = width * height
        var gray = [UInt8](repeating: 0, count: plane)
        pixels.withUnsafeBufferPointer { src in
            gray.withUnsafeMutableBufferPointer { dst in
                for i in 0..<plane {
                    let l = UInt32(src[3 * i]) * 19595 + UInt32(src[3 * i + 1]) * 38470
                        + UInt32(src[3 * i + 2]) * 7471 + 0x8000
                    dst[i] = UInt8(truncatingIfNeeded: l >> 16)
                }
            }
        }
        return gray
    }

    /// ``grayscale()`` as a float tensor of shape (1, H, W) with values `L / 255`,
    /// the input of a one-channel model.
    public func grayscaleTensor() -> Tensor {
        Tensor(shape: [1, height, width], storage: grayscale().map { Float($0) / 255 })
    }
}

/// Why an image file could not be decoded.
public enum ImageDecodeError: Error, CustomStringConvertible, Equatable {
    /// Nothing exists at `path`.
    case fileNotFound(path: String)
    /// `path` exists but cannot be read (permissions, a directory, an I/O error, out of memory).
    case unreadable(path: String, reason: String)
    /// The file is neither a PNG nor a JPEG (judged by its first bytes), or a variant not supported.
    case unsupportedFormat(path: String, reason: String)
    /// The file is a PNG or JPEG but truncated or damaged; `reason` is the decoder's finding.
    case corrupt(path: String, reason: String)
    /// The header announces `width * height` pixels, more than `limit`; nothing was decoded.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    /// Preprocessing would resize the image to `width x height` pixels before
    /// its crop, more than `limit` (``PreprocessingConfig/preprocessed(_:maxPixels:source:)``).
    case resizeTooLarge(path: String, width: Int, height: Int, limit: Int)

    init(status: cimageio_status, path: String, message: String, width: Int, height: Int, limit: Int) {
        switch status {
        case CIMAGEIO_NOT_FOUND: self = .fileNotFound(path: path)
        case CIMAGEIO_UNSUPPORTED: self = .unsupportedFormat(path: path, reason: message)
        case CIMAGEIO_CORRUPT: self = .corrupt(path: path, reason: message)
        case CIMAGEIO_TOO_LARGE: self = .tooLarge(path: path, width: width, height: height, limit: limit)
        default: self = .unreadable(path: path, reason: message)
        }
    }

    public var description: String {
        switch self {
        case let .fileNotFound(path):
            return "No image file at \(path); check the path."
        case let .unreadable(path, reason):
            return "Cannot read image \(path): \(reason)."
        case let .unsupportedFormat(path, reason):
            return "\(path) is not a readable image: \(reason). Only PNG and JPEG files are supported."
        case let .corrupt(path, reason):
            return "Image \(path) is damaged: \(reason). Re-export or re-download it."
        case let .tooLarge(path, width, height, limit):
            return "Image \(path) is \(width)x\(height) = \(width * height) pixels, above the limit of \(limit) pixels; "
                + "it was not decoded. Downscale it, or pass a larger maxPixels if the file is trusted."
        case let .resizeTooLarge(path, width, height, limit):
            return "Image \(path) would be resized to \(width)x\(height) pixels before the crop (its aspect ratio is kept), "
                + "above the limit of \(limit) pixels; crop it closer to the model's aspect ratio, or use --preprocessing reference"
        }
    }
}

/// Why an image could not be encoded (writing it fails with ``OutputError``).
public enum ImageEncodeError: Error, CustomStringConvertible, Equatable {
    /// The image for `path` cannot be encoded: empty, an alpha plane of the
    /// wrong size, or libpng ran out of memory.
    case encodingFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .encodingFailed(path, reason): return "Cannot encode image \(path): \(reason)."
        }
    }
}

import CRsvg
import Foundation

/// SVG to pixels with librsvg on a cairo image surface, composed over white.
public enum SVGRasterizer {
    /// Renders `svg` at `scale` times its intrinsic size (its `width` and
    /// `height` in pixels).
    /// - Throws: ``FigureError/unrenderable(reason:)`` for text librsvg cannot
    ///   parse, a document without a size, or a surface cairo cannot create.
    public static func rasterize(_ svg: String, scale: Double = 1) throws -> RGBImage {
        precondition(scale > 0, "scale must be positive")
        let bytes = Array(svg.utf8)
        var error: UnsafeMutablePointer<GError>?
        let handle = bytes.withUnsafeBufferPointer { rsvg_handle_new_from_data($0.baseAddress, gsize($0.count), &error) }
        guard let handle else { throw FigureError.unrenderable(reason: consume(&error) ?? "librsvg could not read the SVG") }
        defer { g_object_unref(UnsafeMutableRawPointer(handle)) }
        var intrinsicWidth = 0.0, intrinsicHeight = 0.0
        guard rsvg_handle_get_intrinsic_size_in_pixels(handle, &intrinsicWidth, &intrinsicHeight) != 0,
              intrinsicWidth > 0, intrinsicHeight > 0 else {
            throw FigureError.unrenderable(reason: "the SVG has no width and height in pixels")
        }
        let width = Int((intrinsicWidth * scale).rounded(.up)), height = Int((intrinsicHeight * scale).rounded(.up))
        guard width <= 32_768, height <= 32_768 else {
            throw FigureError.unrenderable(reason: "\(width)x\(height) pixels is larger than cairo's limit of 32768")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw FigureError.unrenderable(reason: "cairo cannot create a \(width)x\(height) surface")
        }
        defer { cairo_surface_destroy(surface) }
        let context = cairo_create(surface)
        defer { cairo_destroy(context) }
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_paint(context)
        var viewport = RsvgRectangle(x: 0, y: 0, width: Double(width), height: Double(height))
        guard rsvg_handle_render_document(handle, context, &viewport, &error) != 0 else {
            throw FigureError.unrenderable(reason: consume(&error) ?? "librsvg could not render the SVG")
        }
        cairo_surface_flush(surface)
        // CAIRO_FORMAT_RGB24: one native-endian 32-bit word per pixel, 0x00RRGGBB.
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else {
            throw FigureError.unrenderable(reason: "cairo returned no pixel data")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let word = row[x], i = 3 * (y * width + x)
                pixels[i] = UInt8(truncatingIfNeeded: word >> 16)
                pixels[i + 1] = UInt8(truncatingIfNeeded: word >> 8)
                pixels[i + 2] = UInt8(truncatingIfNeeded: word)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The message of a GError, which is freed.
    private static func consume(_ error: inout UnsafeMutablePointer<GError>?) -> String? {
        guard let e = error else { return nil }
        defer { g_error_free(e); error = nil }
        return e.pointee.message.map { String(cString: $0) }
    }
}

/// A figure that cannot be drawn.
public enum FigureError: Error, CustomStringConvertible, Equatable {
    case unrenderable(reason: String)

    public var description: String {
        switch self {
        case .unrenderable(let reason): return "cannot render the figure: \(reason)"
        }
    }
}

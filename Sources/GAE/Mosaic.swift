import AbsLRPCore

/// The 2x2 mosaics of GAE's contrastiveness test (spec section 6, step 2).
///
/// A batch of `B = 4M` images makes `M` mosaics. Mosaic `m` holds, as tiles
/// of half the image size, batch images
///
///     m (top-left)   M + m (top-right)
///     2M + m (bottom-left)   3M + m (bottom-right)
///
/// i.e. tile `q` (0...3 in that order) of mosaic `m` is batch image `qM + m`
/// (the reference's `torch.split(x, M)` into quadrants).
enum Mosaic {
    /// Batch index of tile `quadrant` of mosaic `mosaic` in a batch of `4 * mosaics` images.
    static func tileSource(mosaic: Int, quadrant: Int, mosaics: Int) -> Int { quadrant * mosaics + mosaic }

    /// Nearest-neighbour resize of the last two axes of `x` (B, C, H, W) to
    /// (height, width), as `F.interpolate(x, size)` (mode "nearest"): source
    /// index `min(floor(dst * s), in - 1)` with `s = in / out` in float32
    /// (`dst` itself when sizes agree, `dst >> 1` when doubling).
    static func downscaleNearest(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (b, c, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let rows = (0..<height).map { sourceIndex($0, input: inH, output: height) }
        let cols = (0..<width).map { sourceIndex($0, input: inW, output: width) }
        var out = [Float](repeating: 0, count: b * c * height * width)
        x.storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for plane in 0..<(b * c) {
                    for (y, sy) in rows.enumerated() {
                        let from = (plane * inH + sy) * inW, to = (plane * height + y) * width
                        for (xo, sx) in cols.enumerated() { dst[to + xo] = src[from + sx] }
                    }
                }
            }
        }
        return Tensor(shape: [b, c, height, width], storage: out)
    }

    /// torch's `nearest_idx` for one axis.
    private static func sourceIndex(_ dst: Int, input: Int, output: Int) -> Int {
        if output == input { return dst }
        if output == 2 * input { return dst >> 1 }
        let scale = Float(input) / Float(output)
        return min(Int((Float(dst) * scale).rounded(.down)), input - 1)
    }

    /// Assembles tiles (4M, C, h, w) into mosaics (M, C, 2h, 2w) by the layout above.
    static func assemble(_ tiles: Tensor) -> Tensor {
        let (b, c, h, w) = (tiles.shape[0], tiles.shape[1], tiles.shape[2], tiles.shape[3])
        precondition(b % 4 == 0, "a mosaic needs 4 tiles per mosaic, got a batch of \(b)")
        let m = b / 4
        var out = [Float](repeating: 0, count: tiles.count)
        tiles.storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for mosaic in 0..<m {
                    for quadrant in 0..<4 {
                        let tile = tileSource(mosaic: mosaic, quadrant: quadrant, mosaics: m)
                        let (top, left) = ((quadrant / 2) * h, (quadrant % 2) * w)
                        for ch in 0..<c {
                            for y in 0..<h {
                                let from = ((tile * c + ch) * h + y) * w
                                let to = ((mosaic * c + ch) * 2 * h + top + y) * 2 * w + left
                                for x in 0..<w { dst[to + x] = src[from + x] }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [m, c, 2 * h, 2 * w], storage: out)
    }

    /// The score mosaics of step 7: tile `q` of mosaic `m` filled with
    /// `tileScores[m][q]` in every channel, then the central 2x2 pixels, rows
    /// and columns `H/2 - 1 ..< H/2 + 1` of the original image size (H, W),
    /// set to 1 ("resolve the ambiguity of the centre lines"). Shape
    /// (M, C, 2h, 2w) with (h, w) = (H/2, W/2).
    static func scoreMosaics(_ tileScores: [[Float]], channels: Int, imageHeight: Int, imageWidth: Int) -> Tensor {
        let (h, w) = (imageHeight / 2, imageWidth / 2)
        let (height, width) = (2 * h, 2 * w)
        var out = Tensor(shape: [tileScores.count, channels, height, width])
        for (mosaic, scores) in tileScores.enumerated() {
            for ch in 0..<channels {
                let plane = (mosaic * channels + ch) * height * width
                for y in 0..<height {
                    for x in 0..<width {
                        out.storage[plane + y * width + x] = scores[(y / h) * 2 + x / w]
                    }
                }
                for y in max(imageHeight / 2 - 1, 0)..<min(imageHeight / 2 + 1, height) {
                    for x in max(imageWidth / 2 - 1, 0)..<min(imageWidth / 2 + 1, width) {
                        out.storage[plane + y * width + x] = 1
                    }
                }
            }
        }
        return out
    }
}

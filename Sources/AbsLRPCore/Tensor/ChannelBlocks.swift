/// Copies between NCHW tensors and oneDNN's channel-blocked activation
/// layout `nChw<b>c` (`nChw16c` on AVX-512), with an elementwise step fused
/// into the copy: Conv2d's backward products on oneDNN form absLRP's ratio
/// `S = R / (|y| + 1e-9)` while `S` is blocked and multiply the result by
/// the layer's input `x` while it is unblocked, one pass over each tensor
/// instead of a pass of ours and a oneDNN reorder (`ConvolutionPrimitive.run(writingOperand:weights:readingResult:)`).
///
/// The blocked layout of `(N, C, H, W)` with `P = H W` pixels and
/// `CB = ceil(C / b)` channel blocks, channel `c = cb b + l`:
///
///     blocked[((n CB + cb) P + p) b + l] = t[(n C + c) P + p]     (0 where c >= C)
///
/// Both directions walk one block of `b` channels of one image at a time
/// (in parallel over blocks), in tiles of `tilePixels` pixels: the rows of
/// the tile are read (or written) contiguously, each with the same
/// arithmetic as the unfused passes (bit for bit their values), and
/// transposed through a buffer in the L1 cache.
enum ChannelBlocks {
    /// Pixels per tile (a tile of 16 channels is 4 KB).
    static let tilePixels = 64

    /// `blocked = nChw<b>c(g / (|y| + 1e-9))` of the NCHW `g` and `y`
    /// `(images, channels, pixels)`; the padding channels of the last block are 0.
    static func blockRatio(_ g: UnsafePointer<Float>, dividedBy y: UnsafePointer<Float>, images: Int, channels: Int,
                           pixels: Int, block: Int, into blocked: UnsafeMutablePointer<Float>) {
        let blocks = (channels + block - 1) / block
        forEachBlock(images: images, blocks: blocks, pixels: pixels, block: block) { n, cb, tile in
            let lanes = min(block, channels - cb * block), out = blocked + (n * blocks + cb) * pixels * block
            for p0 in Swift.stride(from: 0, to: pixels, by: tilePixels) {
                let t = min(tilePixels, pixels - p0)
                for l in 0..<lanes {
                    let offset = (n * channels + cb * block + l) * pixels + p0
                    let (source, denominator, row) = (g + offset, y + offset, tile + l * tilePixels)
                    for i in 0..<t { row[i] = source[i] / (abs(denominator[i]) + relevanceEpsilon) }
                }
                for l in lanes..<block { (tile + l * tilePixels).update(repeating: 0, count: t) }
                transpose(tile, stride: tilePixels, into: out + p0 * block, stride: block, rows: block, columns: t)
            }
        }
    }

    /// `out = nchw(blocked) * x` of the `nChw<b>c` `blocked` and the NCHW
    /// `x` `(images, channels, pixels)` into the NCHW `out` (padding channels dropped).
    static func unblockProduct(_ blocked: UnsafePointer<Float>, times x: UnsafePointer<Float>, images: Int, channels: Int,
                               pixels: Int, block: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = (channels + block - 1) / block
        forEachBlock(images: images, blocks: blocks, pixels: pixels, block: block) { n, cb, tile in
            let lanes = min(block, channels - cb * block), source = blocked + (n * blocks + cb) * pixels * block
            for p0 in Swift.stride(from: 0, to: pixels, by: tilePixels) {
                let t = min(tilePixels, pixels - p0)
                transpose(source + p0 * block, stride: block, into: tile, stride: tilePixels, rows: t, columns: block)
                for l in 0..<lanes {
                    let offset = (n * channels + cb * block + l) * pixels + p0
                    let (factor, target, row) = (x + offset, out + offset, tile + l * tilePixels)
                    for i in 0..<t { target[i] = row[i] * factor[i] }
                }
            }
        }
    }

    /// `to[c * toStride + r] = from[r * fromStride + c]` for `r < rows`,
    /// `c < columns`: in 4x4 squares of SIMD4 rows where both sizes allow
    /// (four loads, the shuffles, four stores), the edges value by value.
    @inline(__always)
    static func transpose(_ from: UnsafePointer<Float>, stride fromStride: Int, into to: UnsafeMutablePointer<Float>,
                          stride toStride: Int, rows: Int, columns: Int) {
        let (fullRows, fullColumns) = (rows & ~3, columns & ~3)
        var r = 0
        while r < fullRows {
            var c = 0
            while c < fullColumns {
                let source = UnsafeRawPointer(from + (r &* fromStride &+ c))
                let (a, b) = (source.loadUnaligned(as: SIMD4<Float>.self),
                              source.loadUnaligned(fromByteOffset: 4 &* fromStride, as: SIMD4<Float>.self))
                let (e, f) = (source.loadUnaligned(fromByteOffset: 8 &* fromStride, as: SIMD4<Float>.self),
                              source.loadUnaligned(fromByteOffset: 12 &* fromStride, as: SIMD4<Float>.self))
                let target = UnsafeMutableRawPointer(to + (c &* toStride &+ r))
                target.storeBytes(of: SIMD4(a[0], b[0], e[0], f[0]), as: SIMD4<Float>.self)
                target.storeBytes(of: SIMD4(a[1], b[1], e[1], f[1]), toByteOffset: 4 &* toStride, as: SIMD4<Float>.self)
                target.storeBytes(of: SIMD4(a[2], b[2], e[2], f[2]), toByteOffset: 8 &* toStride, as: SIMD4<Float>.self)
                target.storeBytes(of: SIMD4(a[3], b[3], e[3], f[3]), toByteOffset: 12 &* toStride, as: SIMD4<Float>.self)
                c &+= 4
            }
            r &+= 4
        }
        for r in 0..<rows {
            for c in (r < fullRows ? fullColumns : 0)..<columns { to[c &* toStride &+ r] = from[r &* fromStride &+ c] }
        }
    }

    /// `body(image, channel block, tile buffer of block x tilePixels floats)`
    /// for every block of every image, blocks in parallel (`parallelChunks`).
    private static func forEachBlock(images: Int, blocks: Int, pixels: Int, block: Int,
                                     _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        parallelChunks(images * blocks, minimumChunk: max(1, (1 << 15) / max(1, pixels * block))) { range in
            let tile = Scratch(count: block * tilePixels)
            defer { tile.free() }
            for k in range { body(k / blocks, k % blocks, tile.base) }
        }
    }
}

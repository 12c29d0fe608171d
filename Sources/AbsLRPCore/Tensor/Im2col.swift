/// Geometry of a 2-D convolution or pooling window over one image. Kernel
/// tap `(i, j)` of output pixel `(oy, ox)` reads input pixel
/// `(oy*stride - padding + i*dilation, ox*stride - padding + j*dilation)`
/// (`nn.Conv2d`'s `dilation`: the taps are `dilation` pixels apart).
public struct ConvGeometry: Equatable, Sendable {
    public var channels, height, width: Int
    public var kernelHeight, kernelWidth: Int
    public var stride, padding, dilation: Int

    public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
                dilation: Int = 1) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth
        self.stride = stride; self.padding = padding; self.dilation = dilation
    }

    /// `floor((H + 2p - d*(kh - 1) - 1) / s) + 1` (0 when the dilated window is larger than the padded input)
    public var outputHeight: Int { outputLength(height, kernelHeight) }
    /// `floor((W + 2p - d*(kw - 1) - 1) / s) + 1` (0 when the dilated window is larger than the padded input)
    public var outputWidth: Int { outputLength(width, kernelWidth) }

    private func outputLength(_ input: Int, _ kernel: Int) -> Int {
        let room = input + 2 * padding - dilation * (kernel - 1) - 1
        return room < 0 ? 0 : room / stride + 1
    }
    /// Rows of the column matrix: `C * kh * kw`.
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
    /// Columns of the column matrix: `OH * OW`.
    public var outputPixels: Int { outputHeight * outputWidth }

    /// The input offset of kernel row or column `i`: `i*dilation - padding`
    /// (output pixel `o` reads `o*stride + offset(i)`).
    @inline(__always)
    func offset(kernelTap i: Int) -> Int { i * dilation - padding }

    /// The output columns `ox` whose window column `j` lands inside the
    /// image, `0 <= ox * stride + offset(j) < width` (the rest read padding).
    @inline(__always)
    func validOutputColumns(kernelColumn j: Int) -> Range<Int> {
        let shift = -offset(kernelTap: j)
        let low = min(outputWidth, max(0, (shift + stride - 1) / stride))
        let high = min(outputWidth, max(0, (width + shift + stride - 1) / stride))
        return low..<max(low, high)
    }
}

/// Unfolds one image (C, H, W) into the column matrix `[C*kh*kw, OH*OW]`
/// (row `(c*kh + i)*kw + j`, column `oy*OW + ox`), zero where the window
/// reaches into the padding. `columns` must hold `patchSize * outputPixels`
/// values, laid out with row stride `ldc` (default `outputPixels`), so several
/// images can share one wide column matrix. With `outputRows`, only the
/// columns of those output rows are made (column `(oy - first)*OW + ox`).
public func im2col(_ image: UnsafePointer<Float>, _ g: ConvGeometry, _ columns: UnsafeMutablePointer<Float>,
                   ldc: Int? = nil, outputRows: Range<Int>? = nil) {
    let rows = outputRows ?? 0..<g.outputHeight
    let ow = g.outputWidth, ld = ldc ?? rows.count * ow
    // channels fill disjoint row blocks of the column matrix
    parallelChunks(g.channels, minimumChunk: max(1, (1 << 15) / max(1, g.patchSize / g.channels * rows.count * ow))) { channels in
    for c in channels {
        let plane = image + c * g.height * g.width
        for i in 0..<g.kernelHeight {
            for j in 0..<g.kernelWidth {
                let row = columns + ((c * g.kernelHeight + i) * g.kernelWidth + j) * ld
                for oy in rows {
                    let y = oy * g.stride + g.offset(kernelTap: i)
                    let out = row + (oy - rows.lowerBound) * ow
                    if y < 0 || y >= g.height {
                        out.update(repeating: 0, count: ow)
                        continue
                    }
                    let src = plane + y * g.width
                    let valid = g.validOutputColumns(kernelColumn: j)
                    out.update(repeating: 0, count: valid.lowerBound)
                    if g.stride == 1 {
                        (out + valid.lowerBound).update(from: src + valid.lowerBound + g.offset(kernelTap: j), count: valid.count)
                    } else {
                        for ox in valid { out[ox] = src[ox * g.stride + g.offset(kernelTap: j)] }
                    }
                    (out + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
                }
            }
        }
    }
    }
}

/// The adjoint of `im2col`: adds every entry of the column matrix back into
/// the image position it was read from (overlapping windows accumulate;
/// padding entries are dropped). `image` (C, H, W) is accumulated into, not
/// cleared. `outputRows` as for `im2col`.
public func col2im(_ columns: UnsafePointer<Float>, _ g: ConvGeometry, _ image: UnsafeMutablePointer<Float>,
                   ldc: Int? = nil, outputRows: Range<Int>? = nil) {
    let rows = outputRows ?? 0..<g.outputHeight
    let ow = g.outputWidth, ld = ldc ?? rows.count * ow
    // each channel accumulates only into its own image plane
    parallelChunks(g.channels, minimumChunk: max(1, (1 << 15) / max(1, g.patchSize / g.channels * rows.count * ow))) { channels in
    for c in channels {
        let plane = image + c * g.height * g.width
        for i in 0..<g.kernelHeight {
            for j in 0..<g.kernelWidth {
                let row = columns + ((c * g.kernelHeight + i) * g.kernelWidth + j) * ld
                for oy in rows {
                    let y = oy * g.stride + g.offset(kernelTap: i)
                    if y < 0 || y >= g.height { continue }
                    let dst = plane + y * g.width + g.offset(kernelTap: j)
                    let src = row + (oy - rows.lowerBound) * ow
                    if g.stride == 1 {
                        for ox in g.validOutputColumns(kernelColumn: j) { dst[ox] += src[ox] }
                    } else {
                        for ox in g.validOutputColumns(kernelColumn: j) { dst[ox * g.stride] += src[ox] }
                    }
                }
            }
        }
    }
    }
}

/// What fixes one oneDNN convolution primitive (`ConvolutionPrimitive`):
/// the batch of one call and the layer's geometry (and from it the algorithm). Tensors are NCHW `(images, channels, height, width)` in and
/// `(images, outChannels, outHeight, outWidth)` out, weights
/// `(outChannels, channels/groups, kernel, kernel)`.
struct ConvolutionShape: Hashable {
    enum Algorithm: Hashable {
        /// oneDNN's direct kernels (brgconv, jit, 1x1).
        case direct
        /// Winograd F(4x4, 3x3) (`jit_wino_4x3`): 3x3 stride-1 undilated ungrouped only.
        case winograd
    }

    var images, channels, height, width: Int
    var outChannels, outHeight, outWidth: Int
    var kernel, stride, padding, dilation, groups: Int

    /// Winograd F(4x4, 3x3) where oneDNN has it and it pays (measured on
    /// this machine, batch 2 on one thread, docs/architecture.md
    /// "Convolutions on oneDNN"): 3x3 stride 1 without dilation or groups on outputs
    /// of at least 28x28, 2-3x faster than direct there (at 14x14 even, at
    /// 7x7 twice as slow).
    var algorithm: Algorithm {
        kernel == 3 && stride == 1 && dilation == 1 && groups == 1 && outHeight * outWidth >= 28 * 28 ? .winograd : .direct
    }

    var inputDimensions: [Int] { [images, channels, height, width] }
    var outputDimensions: [Int] { [images, outChannels, outHeight, outWidth] }
    /// OIHW, or GOIHW with `G` groups.
    var weightDimensions: [Int] {
        groups == 1 ? [outChannels, channels, kernel, kernel]
            : [groups, outChannels / groups, channels / groups, kernel, kernel]
    }
}

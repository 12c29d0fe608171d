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
    /// this machine, one thread, docs/benchmarks.md "Session 7
    /// (relevance-pass kernels)"): 3x3 stride 1 without dilation or groups
    /// on outputs of at least 14x14 (ResNet-50's 256-channel 14x14 layers at
    /// batch 4: 7.4 ms against 9.9 ms for the sgemm alone), else direct (at
    /// 7x7 Winograd is twice as slow as direct).
    var algorithm: Algorithm {
        kernel == 3 && stride == 1 && dilation == 1 && groups == 1 && outHeight * outWidth >= 14 * 14 ? .winograd : .direct
    }

    /// Whether Conv2d's backward products of this shape run on oneDNN
    /// (`Conv2d.convolutionCalls`) rather than im2col + sgemm (+ col2im):
    /// ungrouped, undilated 1x1 and 3x3 convolutions at any stride, where
    /// oneDNN's Winograd, direct (`jit:avx512_core`) and 1x1
    /// (`jit_1x1:avx512_core`) kernels with their reorders took 11-13% less
    /// CPU time of ResNet-50's relevance than the sgemm path (the same
    /// session's A/B); other kernels, dilations and groups were not measured.
    var backwardRunsOnOneDNN: Bool {
        groups == 1 && dilation == 1 && (kernel == 1 || kernel == 3)
    }

    var inputDimensions: [Int] { [images, channels, height, width] }
    var outputDimensions: [Int] { [images, outChannels, outHeight, outWidth] }
    /// OIHW, or GOIHW with `G` groups.
    var weightDimensions: [Int] {
        groups == 1 ? [outChannels, channels, kernel, kernel]
            : [groups, outChannels / groups, channels / groups, kernel, kernel]
    }
}

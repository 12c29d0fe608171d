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

    /// The algorithm of Conv2d's forward (inference and recorded) on oneDNN
    /// (`ConvolutionForwardPrimitive`), nil where im2col + sgemm computes it,
    /// layer by layer as it measured faster on this machine (one OpenMP
    /// thread per batch part, the forward's way; docs/benchmarks.md
    /// "Session 8 (CNN forward)"), ungrouped and undilated only:
    /// - Winograd (oneDNN's `jit_fp32_wino_2x3` for inference) on 3x3
    ///   stride-1 layers whose weights `WeightMatrices` caches in the
    ///   primitive's layout (VGG-16's 64- and 128-channel layers, ResNet-50's
    ///   56x56 and 28x28 3x3 layers: 1.3-4x less CPU than im2col + sgemm;
    ///   on larger weights it was 1.5-10x slower than direct; on fewer than
    ///   16 input channels, VGG's first layer, 1.5x slower than im2col);
    /// - direct (`brgconv`/`jit:avx512_core`) on the other 3x3 stride-1
    ///   layers within `WeightMatrices.blockValues` weights (VGG-16's 256-
    ///   and 512-channel layers, ResNet-50's 14x14 and 7x7 3x3 layers:
    ///   1.1-1.5x less) and on a 7x7 stride-2 stem (1.8x less);
    /// - im2col + sgemm elsewhere: 1x1 layers (oneDNN's 1x1 kernel took
    ///   1.1-1.7x more), strided 3x3 layers (direct saved 0-30% there, but
    ///   put one element of `resnet_groupnorm_mini`'s input gradient outside
    ///   its bound against float64), other kernels (a patch embedding, VGG's
    ///   7x7 `fc1` of 102M weights), dilations and groups (not measured).
    var forwardAlgorithm: Algorithm? {
        let weights = outChannels * channels / groups * kernel * kernel
        guard groups == 1, dilation == 1, weights <= WeightMatrices.blockValues else { return nil }
        if kernel == 3 && stride == 1 && channels >= 16 { return weights <= WeightMatrices.cacheLimit ? .winograd : .direct }
        return kernel == 7 && stride == 2 ? .direct : nil
    }

    /// `images x C x H x W -> O x OH x OW, kxk/stride pad p` (with dilation and groups where not 1).
    var geometryDescription: String {
        "\(images)x\(channels)x\(height)x\(width) -> \(outChannels)x\(outHeight)x\(outWidth), "
            + "\(kernel)x\(kernel)/\(stride) pad \(padding)\(dilation > 1 ? " dilation \(dilation)" : "")"
            + "\(groups > 1 ? " groups \(groups)" : "")"
    }

    var inputDimensions: [Int] { [images, channels, height, width] }
    var outputDimensions: [Int] { [images, outChannels, outHeight, outWidth] }
    /// OIHW, or GOIHW with `G` groups.
    var weightDimensions: [Int] {
        groups == 1 ? [outChannels, channels, kernel, kernel]
            : [groups, outChannels / groups, channels / groups, kernel, kernel]
    }
}

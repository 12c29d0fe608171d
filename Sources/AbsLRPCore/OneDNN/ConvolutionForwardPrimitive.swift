import CDNNL

/// One oneDNN forward convolution on fixed shapes, Conv2d's forward on the
/// layers `ConvolutionShape.forwardAlgorithm` names (inference: nothing is
/// kept for a backward of oneDNN's own):
///
///     y = M ⊛ x (+ b)        x (images, C, H, W), y (images, O, OH, OW) NCHW, b (O)
///
/// with the bias added inside the product. As `ConvolutionPrimitive`, it
/// works in layouts of its own choice: `run` reorders `x` into a buffer of
/// the primitive's layout (`nChw16c`; none where oneDNN reads NCHW itself,
/// as the 3-channel stem's) and the result back into NCHW, and takes the
/// weights already in `weightsLayout` (`prepareWeights`, from OIHW / GOIHW
/// values). Each output value is accumulated by one thread in an order
/// fixed by the shape, so a layer computes the same values on any number
/// of OpenMP threads (inside and outside `forEachBatchPart`).
final class ConvolutionForwardPrimitive: @unchecked Sendable {
    /// What a primitive is made for: the geometry, the algorithm and whether a bias is added.
    struct Shape: Hashable {
        var convolution: ConvolutionShape
        var algorithm: ConvolutionShape.Algorithm
        var hasBias: Bool
    }

    let shape: Shape
    /// oneDNN's name for the implementation it chose (`jit:avx512_core`, `jit_wino_4x3:avx512_core`, ...).
    let implementation: String
    /// The weights' layout the primitive reads.
    let weightsLayout: dnnl_memory_desc_t
    private let primitive: dnnl_primitive_t
    private let sourceLayout, destinationLayout, biasLayout: dnnl_memory_desc_t
    /// NCHW -> the source's layout, the destination's layout -> NCHW, OIHW -> `weightsLayout`; nil where equal.
    private let sourceReorder, destinationReorder, weightsReorder: DNNLMemory.Reorder?
    /// Floats of the primitive's working memory, allocated by each call.
    let scratchpadFloats: Int

    /// The primitive for `shape`, nil where oneDNN refuses it or offers only
    /// its reference loops (`ref:any`) or its own im2col + GEMM (`gemm:jit`).
    init?(_ shape: Shape) {
        self.shape = shape
        let c = shape.convolution
        let algorithm = shape.algorithm == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct
        var source = DNNLMemory.descriptor(c.inputDimensions, dnnl_format_tag_any)
        var destination = DNNLMemory.descriptor(c.outputDimensions, dnnl_format_tag_any)
        var weights = DNNLMemory.descriptor(c.weightDimensions, dnnl_format_tag_any)
        var bias = DNNLMemory.plain([c.outChannels])
        let strides = DNNLMemory.dimensions([c.stride, c.stride])
        let dilates = DNNLMemory.dimensions([c.dilation - 1, c.dilation - 1])
        let padding = DNNLMemory.dimensions([c.padding, c.padding])
        let attributes = DNNLEngine.userScratchpad()
        defer { dnnl_primitive_attr_destroy(attributes) }
        var description = dnnl_convolution_desc_t()
        let described = withUnsafePointer(to: &bias) { b in
            dnnl_dilated_convolution_forward_desc_init(&description, dnnl_forward_inference, algorithm, &source, &weights,
                                                       shape.hasBias ? b : nil, &destination, strides, dilates, padding, padding)
        }
        var pd: dnnl_primitive_desc_t?
        guard described == dnnl_success,
              dnnl_primitive_desc_create(&pd, &description, attributes, DNNLEngine.engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var name: UnsafePointer<CChar>?
        DNNLEngine.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name), "naming an implementation")
        implementation = String(cString: name!)
        guard !implementation.hasPrefix("ref"), !implementation.hasPrefix("gemm") else { return nil }
        sourceLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0)!.pointee
        destinationLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)!.pointee
        weightsLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        biasLayout = bias
        scratchpadFloats = DNNLMemory.floats(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee)
        let plainSource = DNNLMemory.plain(c.inputDimensions), plainDestination = DNNLMemory.plain(c.outputDimensions)
        let plainWeights = DNNLMemory.plain(c.weightDimensions)
        sourceReorder = DNNLMemory.equal(plainSource, sourceLayout) ? nil : DNNLMemory.Reorder(from: plainSource, to: sourceLayout)
        destinationReorder = DNNLMemory.equal(plainDestination, destinationLayout) ? nil
            : DNNLMemory.Reorder(from: destinationLayout, to: plainDestination)
        weightsReorder = DNNLMemory.equal(plainWeights, weightsLayout) ? nil : DNNLMemory.Reorder(from: plainWeights, to: weightsLayout)
        var p: dnnl_primitive_t?
        DNNLEngine.check(dnnl_primitive_create(&p, pd), "creating a convolution")
        primitive = p!
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// Floats of the weights in `weightsLayout`.
    var weightsCount: Int { DNNLMemory.floats(weightsLayout) }
    /// Floats of `x` and of `y` in the primitive's own layouts.
    var sourceCount: Int { DNNLMemory.floats(sourceLayout) }
    var destinationCount: Int { DNNLMemory.floats(destinationLayout) }

    /// Writes the OIHW (GOIHW) weights `w` into `out` in `weightsLayout` (`weightsCount` floats).
    func prepareWeights(_ w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        guard let weightsReorder else { return out.update(from: w, count: weightsCount) }
        weightsReorder.run(w, out)
    }

    /// `y = M ⊛ x (+ b)` of the NCHW `x` with the prepared `weights` into the NCHW `y`.
    func run(_ x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
             into y: UnsafeMutablePointer<Float>) {
        let blockedSource = sourceReorder.map { Scratch(count: DNNLMemory.floats($0.destination)) }
        let blockedDestination = destinationReorder.map { Scratch(count: DNNLMemory.floats($0.source)) }
        defer { blockedSource?.free(); blockedDestination?.free() }
        if let sourceReorder, let blockedSource { sourceReorder.run(x, blockedSource.base) }
        runInLayouts(blockedSource.map { UnsafePointer($0.base) } ?? x, weights: weights, bias: bias,
                     into: blockedDestination?.base ?? y)
        if let destinationReorder, let blockedDestination { destinationReorder.run(UnsafePointer(blockedDestination.base), y) }
    }

    /// The primitive alone, `run` without its reorders: `x` (`sourceCount`
    /// floats) and `y` (`destinationCount`) in its own layouts.
    func runInLayouts(_ x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      into y: UnsafeMutablePointer<Float>) {
        precondition(shape.hasBias == (bias != nil), "a forward convolution made \(shape.hasBias ? "with" : "without") a bias")
        DNNLMemory.withMemory(sourceLayout, x) { s in
            DNNLMemory.withMemory(weightsLayout, weights) { w in
                DNNLMemory.withMemory(destinationLayout, y) { d in
                    let arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: s), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: w),
                                     dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: d)]
                    guard let bias else { return DNNLEngine.execute(primitive, arguments, scratchpadFloats: scratchpadFloats) }
                    DNNLMemory.withMemory(biasLayout, bias) { b in
                        DNNLEngine.execute(primitive, arguments + [dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: b)],
                                           scratchpadFloats: scratchpadFloats)
                    }
                }
            }
        }
    }

    private static let primitives = PrimitiveCache<Shape, ConvolutionForwardPrimitive> { ConvolutionForwardPrimitive($0) }

    /// The primitive for `shape`, made on first use (nil, remembered, where oneDNN refuses it).
    static func cached(_ shape: Shape) -> ConvolutionForwardPrimitive? { primitives.primitive(for: shape) }
}

import CDNNL
import Foundation

/// One oneDNN convolution product on fixed shapes: the backward-data
/// product `dx = W^T ⊛ g` (the transposed convolution, `g` at a
/// convolution's output, `dx` at its input) on NCHW tensors of
/// `ConvolutionShape.images` images.
///
/// The primitive works in layouts of its own choice (`nChw16c` activations,
/// blocked or Winograd-ready weights): `run` reorders its NCHW operand into
/// a buffer of the primitive's layout and the result back into NCHW, and
/// takes the weights already in the primitive's layout (`weightsLayout`,
/// prepared by `prepareWeights` from OIHW / GOIHW values). Primitives are
/// made once per shape and kept (`cached`); oneDNN runs one on several
/// threads at once.
final class ConvolutionPrimitive: @unchecked Sendable {
    let shape: ConvolutionShape
    /// oneDNN's name for the implementation it chose (`jit_wino_4x3:avx512_core`, `brgconv:avx512_core`, ...).
    let implementation: String
    /// The weights' layout the primitive reads.
    let weightsLayout: dnnl_memory_desc_t
    private let primitive: dnnl_primitive_t
    private let operandLayout, resultLayout: dnnl_memory_desc_t
    /// NCHW -> the operand's (`g`'s) layout, the result's layout -> NCHW, OIHW -> `weightsLayout`; nil where equal.
    private let operandReorder, resultReorder, weightsReorder: DNNLMemory.Reorder?
    /// Channels per block `b` where the operand's (result's) layout is
    /// oneDNN's `nChw<b>c` (16 or 8), which `ChannelBlocks` writes (reads); nil for other layouts.
    let operandBlock, resultBlock: Int?
    /// Floats of the primitive's working memory, allocated by each call
    /// (`DNNLEngine.userScratchpad`: calls on several threads never share
    /// it). Winograd's holds the transformed weights (4x `W`) and the
    /// transformed tiles of `g` and `dx` (2.25x each).
    let scratchpadFloats: Int

    /// The primitive for `shape`, nil where oneDNN has only its reference
    /// implementation (`ref:any`, loops far slower than im2col + sgemm) or none.
    init?(_ shape: ConvolutionShape) {
        self.shape = shape
        let algorithm = shape.algorithm == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct
        var source = DNNLMemory.descriptor(shape.inputDimensions, dnnl_format_tag_any)
        var destination = DNNLMemory.descriptor(shape.outputDimensions, dnnl_format_tag_any)
        var weights = DNNLMemory.descriptor(shape.weightDimensions, dnnl_format_tag_any)
        let strides = DNNLMemory.dimensions([shape.stride, shape.stride])
        let dilates = DNNLMemory.dimensions([shape.dilation - 1, shape.dilation - 1])
        let padding = DNNLMemory.dimensions([shape.padding, shape.padding])
        // oneDNN describes the backward product by the forward it belongs to (its "hint")
        var forward = dnnl_convolution_desc_t(), description = dnnl_convolution_desc_t()
        var hint: dnnl_primitive_desc_t?, pd: dnnl_primitive_desc_t?
        let attributes = DNNLEngine.userScratchpad()
        defer { dnnl_primitive_attr_destroy(attributes) }
        guard dnnl_dilated_convolution_forward_desc_init(&forward, dnnl_forward_training, algorithm, &source, &weights, nil,
                                                         &destination, strides, dilates, padding, padding) == dnnl_success,
              dnnl_primitive_desc_create(&hint, &forward, nil, DNNLEngine.engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(hint) }
        guard dnnl_dilated_convolution_backward_data_desc_init(&description, algorithm, &source, &weights, &destination,
                                                               strides, dilates, padding, padding) == dnnl_success,
              dnnl_primitive_desc_create(&pd, &description, attributes, DNNLEngine.engine, hint) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var name: UnsafePointer<CChar>?
        DNNLEngine.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name), "naming an implementation")
        implementation = String(cString: name!)
        guard !implementation.hasPrefix("ref") else { return nil }
        operandLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0)!.pointee
        resultLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0)!.pointee
        weightsLayout = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        scratchpadFloats = DNNLMemory.floats(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee)
        let plainOperand = DNNLMemory.plain(shape.outputDimensions), plainResult = DNNLMemory.plain(shape.inputDimensions)
        let plainWeights = DNNLMemory.plain(shape.weightDimensions)
        operandReorder = DNNLMemory.equal(plainOperand, operandLayout) ? nil : DNNLMemory.Reorder(from: plainOperand, to: operandLayout)
        resultReorder = DNNLMemory.equal(plainResult, resultLayout) ? nil : DNNLMemory.Reorder(from: resultLayout, to: plainResult)
        weightsReorder = DNNLMemory.equal(plainWeights, weightsLayout) ? nil : DNNLMemory.Reorder(from: plainWeights, to: weightsLayout)
        operandBlock = DNNLMemory.channelBlock(of: operandLayout, shape.outputDimensions)
        resultBlock = DNNLMemory.channelBlock(of: resultLayout, shape.inputDimensions)
        var p: dnnl_primitive_t?
        DNNLEngine.check(dnnl_primitive_create(&p, pd), "creating a convolution")
        primitive = p!
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// Floats of the weights in `weightsLayout`.
    var weightsCount: Int { DNNLMemory.floats(weightsLayout) }

    /// Writes the OIHW (GOIHW) weights `w` into `out` in `weightsLayout`
    /// (`weightsCount` floats).
    func prepareWeights(_ w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        guard let weightsReorder else { return out.update(from: w, count: weightsCount) }
        weightsReorder.run(w, out)
    }

    /// `dx = W^T ⊛ g` of the NCHW `g` with the prepared `weights` into the NCHW `dx`.
    func run(_ g: UnsafePointer<Float>, weights: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let blockedOperand = operandReorder.map { Scratch(count: DNNLMemory.floats($0.destination)) }
        let blockedResult = resultReorder.map { Scratch(count: DNNLMemory.floats($0.source)) }
        defer { blockedOperand?.free(); blockedResult?.free() }
        if let operandReorder, let blockedOperand { operandReorder.run(g, blockedOperand.base) }
        runInLayouts(blockedOperand.map { UnsafePointer($0.base) } ?? g, weights: weights, into: blockedResult?.base ?? dx)
        if let resultReorder, let blockedResult { resultReorder.run(UnsafePointer(blockedResult.base), dx) }
    }

    /// `run` with the operand and the result in the primitive's own
    /// layouts, through buffers of this call: `writeOperand(g')` fills
    /// `operandCount` floats, `readResult(dx')` reads `resultCount` floats
    /// (in `nChw<b>c` where `operandBlock` / `resultBlock` say so; the
    /// caller fuses its own pass into the copy, `ChannelBlocks`).
    func run(writingOperand writeOperand: (UnsafeMutablePointer<Float>) -> Void, weights: UnsafePointer<Float>,
             readingResult readResult: (UnsafePointer<Float>) -> Void) {
        let operand = Scratch(count: operandCount), result = Scratch(count: resultCount)
        defer { operand.free(); result.free() }
        writeOperand(operand.base)
        runInLayouts(operand.base, weights: weights, into: result.base)
        readResult(result.base)
    }

    /// The NCHW `g` into `out` in the operand's layout (`operandCount` floats).
    func reorderOperand(_ g: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        guard let operandReorder else { return out.update(from: g, count: operandCount) }
        operandReorder.run(g, out)
    }

    /// The result `dx` in its layout into the NCHW `out`.
    func reorderResult(_ dx: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        guard let resultReorder else { return out.update(from: dx, count: resultCount) }
        resultReorder.run(dx, out)
    }

    /// Floats of `g` and of `dx` in the primitive's own layouts.
    var operandCount: Int { DNNLMemory.floats(operandLayout) }
    var resultCount: Int { DNNLMemory.floats(resultLayout) }

    /// The primitive alone, `run` without its reorders: `g` (`operandCount`
    /// floats) and `dx` (`resultCount`) in its own layouts (the benchmark
    /// times the product this way).
    func runInLayouts(_ g: UnsafePointer<Float>, weights: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        DNNLMemory.withMemory(operandLayout, g) { a in
            DNNLMemory.withMemory(weightsLayout, weights) { w in
                DNNLMemory.withMemory(resultLayout, dx) { c in
                    DNNLEngine.execute(primitive, [dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_DST, memory: a),
                                                   dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: w),
                                                   dnnl_exec_arg_t(arg: DNNL_ARG_DIFF_SRC, memory: c)],
                                       scratchpadFloats: scratchpadFloats)
                }
            }
        }
    }

    private static let primitives = PrimitiveCache<ConvolutionShape, ConvolutionPrimitive> { ConvolutionPrimitive($0) }

    /// The primitive for `shape`, made on first use (nil, remembered, where oneDNN refuses it).
    static func cached(_ shape: ConvolutionShape) -> ConvolutionPrimitive? { primitives.primitive(for: shape) }
}

/// A oneDNN backward-data convolution primitive on synthetic operands, for
/// `ProductTiming`: the very primitive Conv2d runs for that shape
/// (`ConvolutionPrimitive.cached`), executed on operands already in its own
/// layouts, so only the product is timed (as the GEMMs are timed without
/// im2col and col2im), not the reorders around it (the working memory
/// each call takes, `DNNLEngine.execute`, is part of it). On all cores outside
/// `concurrently`, on one inside (`DNNLEngine.execute`); its halves are its
/// batch halves.
extension ConvolutionShape: TimableProduct {
    var halves: (ConvolutionShape, ConvolutionShape)? { halves(along: \.images) { ConvolutionPrimitive.cached($0) != nil } }

    func makeOperands() -> ConvolutionOperands { ConvolutionOperands(ConvolutionPrimitive.cached(self)!) }

    func run(_ operands: ConvolutionOperands) {
        operands.primitive.runInLayouts(operands.operand.base, weights: operands.weights.base, into: operands.result.base)
    }

    /// oneDNN's name for the primitive's implementation (a product names
    /// only shapes Conv2d has a primitive for).
    var implementation: String { ConvolutionPrimitive.cached(self)!.implementation }
}

/// A primitive and its operand (`g`), weights and result (`dx`) in its own layouts.
final class ConvolutionOperands {
    let primitive: ConvolutionPrimitive
    let operand, weights, result: SyntheticOperand

    init(_ primitive: ConvolutionPrimitive) {
        self.primitive = primitive
        operand = SyntheticOperand(count: primitive.operandCount)
        weights = SyntheticOperand(count: primitive.weightsCount)
        result = SyntheticOperand(count: primitive.resultCount)
    }
}

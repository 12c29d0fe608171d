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

/// A oneDNN forward convolution primitive (Conv2d's forward on the layers
/// `ConvolutionShape.forwardAlgorithm` names) timed the same way: the
/// primitive itself on operands in its own layouts, bias included.
extension ConvolutionForwardPrimitive.Shape: TimableProduct {
    var halves: (Self, Self)? { halves(along: \.convolution.images) { ConvolutionForwardPrimitive.cached($0) != nil } }

    func makeOperands() -> ConvolutionForwardOperands { ConvolutionForwardOperands(ConvolutionForwardPrimitive.cached(self)!) }

    func run(_ operands: ConvolutionForwardOperands) {
        operands.primitive.runInLayouts(operands.source.base, weights: operands.weights.base, bias: operands.bias?.base,
                                        into: operands.destination.base)
    }
}

/// A forward primitive and its source (`x`), weights, bias and destination (`y`) in its own layouts.
final class ConvolutionForwardOperands {
    let primitive: ConvolutionForwardPrimitive
    let source, weights, destination: SyntheticOperand
    let bias: SyntheticOperand?

    init(_ primitive: ConvolutionForwardPrimitive) {
        self.primitive = primitive
        source = SyntheticOperand(count: primitive.sourceCount)
        weights = SyntheticOperand(count: primitive.weightsCount)
        destination = SyntheticOperand(count: primitive.destinationCount)
        bias = primitive.shape.hasBias ? SyntheticOperand(count: primitive.shape.convolution.outChannels) : nil
    }
}

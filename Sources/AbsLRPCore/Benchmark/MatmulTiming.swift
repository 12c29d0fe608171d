import Foundation

/// A oneDNN matmul (Linear's forward, `MatmulPrimitive`) on synthetic
/// operands, for `ProductTiming`: the very primitive Linear runs for that
/// shape (`MatmulPrimitive.cached`, one OpenMP thread), on plain row-major
/// operands as Linear calls it, with the working memory each call takes.
/// Its halves are its row halves, each on one thread; it never runs whole
/// on all cores (`MatmulPrimitive.run` takes one thread).
extension MatmulPrimitive.Shape: TimableProduct {
    var runsWholeOnAllCores: Bool { false }

    var halves: (MatmulPrimitive.Shape, MatmulPrimitive.Shape)? { halves(along: \.rows) { MatmulPrimitive.cached($0) != nil } }

    func makeOperands() -> MatmulOperands { MatmulOperands(self) }

    func run(_ operands: MatmulOperands) {
        operands.primitive.run(operands.x.base, weight: operands.weight.base, bias: operands.bias?.base, into: operands.y.base)
    }
}

/// A matmul's primitive and its x, W, b and y.
final class MatmulOperands {
    let primitive: MatmulPrimitive
    let x, weight, y: SyntheticOperand
    let bias: SyntheticOperand?

    init(_ shape: MatmulPrimitive.Shape) {
        primitive = MatmulPrimitive.cached(shape)!
        x = SyntheticOperand(count: shape.rows * shape.inFeatures)
        weight = SyntheticOperand(count: shape.outFeatures * shape.inFeatures)
        y = SyntheticOperand(count: shape.rows * shape.outFeatures)
        bias = shape.hasBias ? SyntheticOperand(count: shape.outFeatures) : nil
    }
}

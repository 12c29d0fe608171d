/// An OpenBLAS sgemm on synthetic operands, for `ProductTiming`: whole on
/// OpenBLAS's threads (outside `concurrently`) or single-threaded inside it;
/// its halves are its row halves.
extension GEMMShape: TimableProduct {
    /// Products with more columns than this whose operands would exceed
    /// `largestOperand` are timed as slabs of this many columns (OpenBLAS
    /// itself walks N in blocks narrower than this); keeps VGG-16's early
    /// layers (`576 x 200704` at batch 4) from allocating gigabytes.
    static let slabColumns = 16384
    /// Floats of the largest A, B or C allocated whole.
    static let largestOperand = 1 << 24

    /// This product as `(shape, count)` slabs along N whose operands fit `largestOperand`.
    var slabs: [(shape: GEMMShape, count: Int)] {
        guard n > Self.slabColumns, max(m, k) * n > Self.largestOperand else { return [(self, 1)] }
        var slab = self, rest = self
        slab.n = Self.slabColumns
        rest.n = n % Self.slabColumns
        return [(slab, n / Self.slabColumns)] + (rest.n > 0 ? [(rest, 1)] : [])
    }

    var halves: (GEMMShape, GEMMShape)? { halves(along: \.m) }

    func makeOperands() -> GEMMOperands { GEMMOperands(self) }

    func run(_ operands: GEMMOperands) {
        sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
              a: operands.a.base, b: operands.b.base, c: operands.c.base)
    }
}

/// A, B and C of one product.
final class GEMMOperands {
    let a, b, c: SyntheticOperand

    init(_ shape: GEMMShape) {
        a = SyntheticOperand(count: shape.m * shape.k)
        b = SyntheticOperand(count: shape.k * shape.n)
        c = SyntheticOperand(count: shape.m * shape.n)
    }
}

/// A buffer of `count` floats filled with a fixed pattern in [-0.5, 0.5),
/// 64-byte aligned like `Scratch` (oneDNN's kernels load whole AVX-512 rows).
final class SyntheticOperand {
    private let scratch: Scratch
    var base: UnsafeMutablePointer<Float> { scratch.base }

    init(count: Int) {
        scratch = Scratch(count: count)
        for i in 0..<count { scratch.base[i] = Float(i % 251) / 251 - 0.5 }
    }

    deinit { scratch.free() }
}

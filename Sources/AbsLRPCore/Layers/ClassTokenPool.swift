/// Class-token pooling `y = x[:, 0]` (the reference's `CLSTokenPool`,
/// timm's `global_pool='token'`).
///
/// - input (B, N, C); output (B, C)
/// - VJP: `g` written into token 0, zeros for the other tokens; the absolute
///   twin (slice of `|x|`) has the same VJP, so absLRP gives
///   `normalize_sum(2 relu(x[:, 0]) S)` in row 0 and zeros elsewhere.
public final class ClassTokenPool: Layer {
    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] >= 1, "\(name): input \(x.shape), expected (B, N, C)")
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        var y = Tensor(shape: [b, c])
        for i in 0..<b { y.storage.replaceSubrange((i * c)..<((i + 1) * c), with: x.storage[(i * n * c)..<(i * n * c + c)]) }
        return y
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        let shape = record.inputs[0].shape
        let (b, n, c) = (shape[0], shape[1], shape[2])
        var out = Tensor(shape: shape)
        for i in 0..<b { out.storage.replaceSubrange((i * n * c)..<(i * n * c + c), with: g.storage[(i * c)..<((i + 1) * c)]) }
        return [out]
    }
}

/// Addition of the learned position embedding (the reference's `PositionEmbed`):
///
///     y = x + p
///
/// - `x`: (B, N, C) tokens (class token first); `p`: the embedding (1, N, C),
///   expanded over the batch before the operation (as the reference's
///   `pos_embed.expand(B, -1, -1)`), so both recorded inputs are (B, N, C)
///   and the relevance of `p` is per sample, like the reference's.
/// - VJP: `(g, g)`; absolute twin `|x| + |p|`, same VJP.
/// - absLRP: `R_x = normalize_sum(2 relu(x) S)`, `R_p = normalize_sum(2 relu(p) S)`.
///   `R_p` is computed and traced (`name.1`) but explains a parameter, so
///   models discard it.
public final class PositionEmbed: BinaryOperation {
    override public func apply(_ x: Tensor, _ p: Tensor) -> Tensor {
        precondition(x.shape == p.shape, "\(name): tokens \(x.shape) and embedding \(p.shape) differ")
        return x + p
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] { [g, g] }

    /// Expands `embedding` (1, N, C) over the batch of `x` (B, N, C) and adds it.
    public func forward(_ x: Tensor, embedding: Tensor, _ context: ForwardContext) -> Tensor {
        precondition(embedding.rank == x.rank && embedding.shape[0] == 1 && Array(embedding.shape.dropFirst()) == Array(x.shape.dropFirst()),
                     "\(name): embedding \(embedding.shape) does not fit tokens \(x.shape)")
        let expanded = Tensor(shape: x.shape, storage: Array([[Float]](repeating: embedding.storage, count: x.shape[0]).joined()))
        return forward(x, expanded, context)
    }
}

/// The absLRP rule (spec section 1), at any operation with inputs `x_i` and
/// output `y`:
///
///     S   = R / (|y| + 1e-9)            (S = R when !dividesRelevance)
///     R_i = normalize_sum(x_i * detachedVJP_i(S) + |x_i| * absoluteVJP_i(S))
///
/// (`x * sign(x) = |x|`, so the twin's `sign(x_i)` factor folds into `|x_i|`).
/// The contributions come from the layer's fused kernels
/// (`Operation.absLRPContributions`: one product for affine layers with a
/// nonnegative input, one pass for ReLU, BatchNorm, identities and max pools).
///
/// The reference's VGG does not divide at its max pools: its composite gives
/// them `AbsLRPRule(dividesRelevance: false)`.
public struct AbsLRPRule: RelevanceRule {
    /// Whether `R` is divided by `|y| + 1e-9` before the products.
    public var dividesRelevance: Bool

    public init(dividesRelevance: Bool = true) { self.dividesRelevance = dividesRelevance }

    public var normalizesRelevance: Bool { true }

    public func propagateUnnormalized(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        dividesRelevance ? operation.absLRPContributions(relevance: r, record)
                         : operation.absLRPContributions(r, record)
    }

    public func propagate(_ r: Tensor, at operation: Operation, _ record: Record) -> [Tensor] {
        var contributions = propagateUnnormalized(r, at: operation, record)
        for i in contributions.indices { contributions[i].normalizeSum() }
        return contributions
    }

    /// The reference takes the absLRP gradient with autograd with respect to
    /// the tensors `a` and `b`; since `b` is an ancestor of `a`, the
    /// derivative for `b` is the total one, through the branch as well:
    ///
    ///     G_a = S + sign(a) S
    ///     G_b = S + sign(b) S + J_branch(b)^T G_a
    ///     R_a = normalize_sum(a G_a),  R_b = normalize_sum(b G_b)
    ///
    /// in three passes over the tensors (`S` formed inside each, never
    /// stored): `G_a`, then `R_b` into the branch's result and `R_a` into
    /// `G_a`, both normalised in place.
    public func propagateIdentityShortcut(_ r: Tensor, at addition: ResidualAddition, _ record: Record,
                                          branchVJP: (Tensor) -> Tensor) -> [Tensor] {
        let (a, b, y) = (record.inputs[0], record.inputs[1], record.output)
        precondition(a.shape == r.shape && b.shape == r.shape, "\(addition.name): shortcut shapes \(a.shape), \(b.shape), \(r.shape)")
        let ratio = ShortcutRatio(divides: dividesRelevance)
        // G_a = S + sign(a) S
        var ga = r.storage.withUnsafeBufferPointer { rs in
            y.storage.withUnsafeBufferPointer { ys in
                a.storage.withUnsafeBufferPointer { xs in
                    Tensor(shape: r.shape) { out in
                        let (rp, yp, xp) = (rs.baseAddress!, ys.baseAddress!, xs.baseAddress!)
                        parallelChunks(r.count) { range in
                            for i in range {
                                let s = ratio(rp[i], yp[i])
                                out[i] = s + signum(xp[i]) * s
                            }
                        }
                    }
                }
            }
        }
        // R_b = b (S + sign(b) S + J^T G_a), over J^T G_a in place
        var rb = branchVJP(ga)
        precondition(rb.shape == r.shape, "\(addition.name): branch gradient \(rb.shape), expected \(r.shape)")
        rb.storage.withUnsafeMutableBufferPointer { t in
            r.storage.withUnsafeBufferPointer { rs in
                y.storage.withUnsafeBufferPointer { ys in
                    b.storage.withUnsafeBufferPointer { xs in
                        let (tp, rp, yp, xp) = (t.baseAddress!, rs.baseAddress!, ys.baseAddress!, xs.baseAddress!)
                        parallelChunks(t.count) { range in
                            for i in range {
                                let s = ratio(rp[i], yp[i])
                                tp[i] = xp[i] * ((s + signum(xp[i]) * s) + tp[i])
                            }
                        }
                    }
                }
            }
        }
        // R_a = a G_a, over G_a in place
        ga.multiplyElementwise(by: a)
        ga.normalizeSum()
        rb.normalizeSum()
        return [ga, rb]
    }

    /// `S = R / (|y| + 1e-9)`, or `R` itself, elementwise.
    private struct ShortcutRatio {
        let divides: Bool
        @inline(__always) func callAsFunction(_ r: Float, _ y: Float) -> Float {
            divides ? r / (abs(y) + relevanceEpsilon) : r
        }
    }
}

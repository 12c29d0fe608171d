/// Group normalisation (`nn.GroupNorm`, timm's `GroupNorm` with 32 groups:
/// `norm_layer='groupnorm'`, resnet50_gn). The C channels fall into G groups
/// of C/G; per image b and group g, over its `n = C/G * H * W` values:
///
///     y = (x - mu_bg) / sqrt(var_bg + eps) * gamma_c + beta_c      (var biased)
///
/// - input/output: (B, C, H, W); state `weight` (gamma), `bias` (beta), (C).
/// - VJP, statistics differentiated (the reference's generic rule takes
///   autograd's gradient of the whole module): with `xhat` the normalised
///   input, `r = 1 / sqrt(var + eps)` and `h = gamma_c g`,
///   `dx = r (h - mean(h) - xhat mean(h xhat))`, means over the group.
///   The detached VJP is this one too.
/// - The absolute twin is the layer with `|gamma|`, `|beta|` at `|x|` (its own
///   statistics of `|x|`): the same formula with those.
public final class GroupNorm: Layer {
    public let channels, groups: Int
    public let eps: Float

    public init(name: String, channels: Int, groups: Int, eps: Float = 1e-5) {
        precondition(groups > 0 && channels % groups == 0, "\(name): \(channels) channels in \(groups) groups")
        self.channels = channels; self.groups = groups; self.eps = eps
        super.init(name: name)
        registerState("weight", shape: [channels], value: 1)
        registerState("bias", shape: [channels])
    }

    /// Calls `body(offset, count, channelOf)` for every (image, group) block,
    /// `count` contiguous values from `offset`, blocks in parallel.
    private func forEachGroup(_ shape: [Int], _ body: (Int, Int, (Int) -> Int) -> Void) {
        let plane = shape[2] * shape[3], perGroup = channels / groups, count = perGroup * plane
        parallelChunks(shape[0] * groups, minimumChunk: max(1, (1 << 14) / max(1, count))) { blocks in
            for block in blocks {
                let firstChannel = (block % groups) * perGroup
                body(block * count, count, { firstChannel + $0 / plane })
            }
        }
    }

    /// Mean and `1 / sqrt(var + eps)` of `x[offset ..< offset + count]` (of `|x|` with `absolute`), summed in Double.
    private func statistics(_ x: UnsafePointer<Float>, _ count: Int, absolute: Bool) -> (mean: Double, rstd: Double) {
        var sum = 0.0
        for k in 0..<count { sum += Double(absolute ? abs(x[k]) : x[k]) }
        let mean = sum / Double(count)
        var squares = 0.0
        for k in 0..<count { let d = Double(absolute ? abs(x[k]) : x[k]) - mean; squares += d * d }
        return (mean, 1 / (squares / Double(count) + Double(eps)).squareRoot())
    }

    override public func apply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == channels, "\(name): input \(x.shape), expected (B, \(channels), H, W)")
        let gamma = parameter("weight").storage, beta = parameter("bias").storage
        return x.storage.withUnsafeBufferPointer { xs in
            Tensor(shape: x.shape) { ys in
                forEachGroup(x.shape) { offset, count, channel in
                    let xp = xs.baseAddress! + offset, yp = ys + offset
                    let (mean, rstd) = statistics(xp, count, absolute: false)
                    for k in 0..<count {
                        let c = channel(k)
                        yp[k] = Float((Double(xp[k]) - mean) * rstd) * gamma[c] + beta[c]
                    }
                }
            }
        }
    }

    /// `r (h - mean(h) - xhat mean(h xhat))`, `h = gamma_c g`, of the layer
    /// (`absolute` false) or of its twin at `|x|` with `|gamma|`.
    private func inputGradient(_ g: Tensor, _ x: Tensor, absolute: Bool) -> Tensor {
        let gamma = parameter("weight").storage.map { absolute ? abs($0) : $0 }
        return x.storage.withUnsafeBufferPointer { xs in
            g.storage.withUnsafeBufferPointer { gs in
                Tensor(shape: x.shape) { out in
                    forEachGroup(x.shape) { offset, count, channel in
                        let xp = xs.baseAddress! + offset, gp = gs.baseAddress! + offset, op = out + offset
                        let (mean, rstd) = statistics(xp, count, absolute: absolute)
                        var sumH = 0.0, sumHX = 0.0
                        for k in 0..<count {
                            let h = Double(gamma[channel(k)]) * Double(gp[k])
                            let xhat = (Double(absolute ? abs(xp[k]) : xp[k]) - mean) * rstd
                            sumH += h; sumHX += h * xhat
                        }
                        let (meanH, meanHX) = (sumH / Double(count), sumHX / Double(count))
                        for k in 0..<count {
                            let h = Double(gamma[channel(k)]) * Double(gp[k])
                            let xhat = (Double(absolute ? abs(xp[k]) : xp[k]) - mean) * rstd
                            op[k] = Float(rstd * (h - meanH - xhat * meanHX))
                        }
                    }
                }
            }
        }
    }

    override public func vjp(_ g: Tensor, _ record: Record) -> [Tensor] {
        [inputGradient(g, record.inputs[0], absolute: false)]
    }

    override public func absoluteVJP(_ s: Tensor, _ record: Record) -> [Tensor] {
        [inputGradient(s, record.inputs[0], absolute: true)]
    }
}

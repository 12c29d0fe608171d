/// The fixed linear maps of the pooling layers (``AvgPool2d``, ``BlurPool2d``,
/// and the VJP of ``AdaptiveAvgPool2d``, whose forward sums before it scales):
/// an output `y` (outputShape) with `y[o] = Σ w · x[i]` over the layer's taps
/// `(o, i, w)`, and its VJP `dx[i] = Σ w · g[o]` over the same taps (the
/// transpose of the map). `taps(shape, body)` calls `body(o, i, w)` for every
/// tap of an input of `shape`, with flat indices.
enum PoolingTaps {
    typealias Taps = (_ inputShape: [Int], _ body: (Int, Int, Float) -> Void) -> Void

    /// `y[o] = Σ w · x[i]`: (B, C, H, W) -> `outputShape`.
    static func apply(_ x: Tensor, outputShape: [Int], taps: Taps) -> Tensor {
        var y = Tensor(shape: outputShape)
        y.storage.withUnsafeMutableBufferPointer { ys in
            x.storage.withUnsafeBufferPointer { xs in
                let (yp, xp) = (ys.baseAddress!, xs.baseAddress!)
                taps(x.shape) { o, i, w in yp[o] += xp[i] * w }
            }
        }
        return y
    }

    /// `dx[i] = Σ w · g[o]`: the output gradient `g` -> (B, C, H, W) of `inputShape`.
    static func transpose(_ g: Tensor, inputShape: [Int], taps: Taps) -> Tensor {
        var dx = Tensor(shape: inputShape)
        dx.storage.withUnsafeMutableBufferPointer { ds in
            g.storage.withUnsafeBufferPointer { gs in
                let (dp, gp) = (ds.baseAddress!, gs.baseAddress!)
                taps(inputShape) { o, i, w in dp[i] += gp[o] * w }
            }
        }
        return dx
    }
}

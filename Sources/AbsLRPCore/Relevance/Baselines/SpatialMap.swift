extension Tensor {
    /// A per-image spatial map (B, h, w) laid over an input of shape
    /// (B, C, H, W): resized to H x W by bilinear interpolation with
    /// `align_corners=False` (`F.interpolate(mode="bilinear")`, as Grad-CAM
    /// and attention maps are upsampled; ``resizeBilinearAntialiased(_:height:width:)``
    /// is exactly that when enlarging) and repeated over the C channels.
    func spreadOverInput(shape: [Int]) -> Tensor {
        precondition(rank == 3 && shape.count == 4 && self.shape[0] == shape[0], "map \(self.shape) for input \(shape)")
        let (b, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let resized = resizeBilinearAntialiased(self, height: h, width: w)
        let plane = h * w
        var out = Tensor(shape: shape)
        out.storage.withUnsafeMutableBufferPointer { os in
            resized.storage.withUnsafeBufferPointer { rs in
                for i in 0..<b {
                    for ch in 0..<c {
                        (os.baseAddress! + (i * c + ch) * plane).update(from: rs.baseAddress! + i * plane, count: plane)
                    }
                }
            }
        }
        return out
    }
}

/// The warning that a method's map cannot localise: every pixel of the map
/// (summed over channels) has one value, so it says nothing about *where*
/// the evidence lies. Grad-CAM on a model whose last feature map is 1x1
/// (the bundled 28x28 ResNet) always gives such maps; any method can for
/// some inputs (a ReLU-clipped map that is zero everywhere).
public struct LocalisationWarning: Equatable, Sendable, CustomStringConvertible {
    public var method: String
    /// The image (file name or sample name) whose map is constant.
    public var image: String
    /// Why, when the method's structure explains it.
    public var reason: String?

    /// The warning for `map`, or nil when it is not constant. `input` is the
    /// explained image (1, C, H, W); the reason is the method's
    /// (``RelevancyMethod/constantMapReason(for:)``).
    public static func check(_ map: SummedRelevance, method: RelevancyMethod, image: String,
                             input: Tensor) -> LocalisationWarning? {
        guard map.isConstant else { return nil }
        return LocalisationWarning(method: method.name, image: image, reason: method.constantMapReason(for: input))
    }

    public var description: String {
        "warning: \(method) cannot localise \(image): its map is constant" + (reason.map { " (\($0))" } ?? "")
    }
}

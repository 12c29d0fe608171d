/// Relevance that became NaN or infinite inside a method: the method, the
/// layer where the first non-finite value appeared, and in which pass.
public struct NonFiniteRelevanceError: Error, CustomStringConvertible, Equatable {
    public var method: String
    /// The module's dotted name (`features.3`), or nil when every layer's
    /// values were finite and the method's own arithmetic made the value.
    public var layer: String?
    /// "forward" (the layer's output), the traced backward pass's name
    /// ("absLRP", "LRP", "gradient": ``RelevancyMethod/tracedPass(_:targets:)``),
    /// or "method".
    public var pass: String
    public var value: Float

    public var description: String {
        let place = layer.map { "at layer \($0) (\(pass) pass)" } ?? "after the model's passes, in the method's own arithmetic"
        return "\(method) produced \(value) relevance \(place): the map would be garbage, nothing was drawn; "
            + "the model's weights or the input are out of float range for this method"
    }
}

extension RelevancyMethod {
    /// ``RelevancyMethod/relevance(_:targets:)``, refused with
    /// ``NonFiniteRelevanceError`` when a value is NaN or infinite.
    public func finiteRelevance(_ x: Tensor, targets: [Int]?) throws -> Tensor {
        let relevance = try self.relevance(x, targets: targets)
        try requireFiniteRelevance(relevance, input: x, targets: targets)
        return relevance
    }

    /// Throws ``NonFiniteRelevanceError`` when `relevance` (of `input` for
    /// `targets`) holds a NaN or infinity. Only then it finds the layer: the
    /// first module (in forward order) whose recorded output is not finite,
    /// else the first (in backward order) whose value in the method's traced
    /// pass (``RelevancyMethod/tracedPass(_:targets:)``) is not.
    public func requireFiniteRelevance(_ relevance: Tensor, input: Tensor, targets: [Int]?) throws {
        guard let (_, value) = relevance.firstNonFinite() else { return }
        let (_, tape) = classifier.recordedForward(input)
        let modules = classifier.network.allModules.filter { !$0.name.isEmpty }
        for module in modules where tape.has(module) {
            if let (_, v) = tape.record(for: module).output.firstNonFinite() {
                throw NonFiniteRelevanceError(method: name, layer: module.name, pass: "forward", value: v)
            }
        }
        let (pass, traces) = try tracedPass(input, targets: targets)
        for module in modules.reversed() {
            if let (_, v) = traces[module.name]?.firstNonFinite() {
                throw NonFiniteRelevanceError(method: name, layer: module.name, pass: pass, value: v)
            }
        }
        throw NonFiniteRelevanceError(method: name, layer: nil, pass: "method", value: value)
    }
}

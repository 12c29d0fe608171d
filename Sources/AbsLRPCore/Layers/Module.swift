/// A node of a model's module tree, named and ordered as in timm, so that
/// state-dict keys (`features.0.weight`) and relevance traces
/// (`trace.features.0`) come out with timm's names.
///
/// A module owns its parameters and buffers (`state`, local names such as
/// `weight` or `running_var`) and its children in registration order. Leaf
/// layers (`Layer`) compute; composite modules route tensors through their
/// children. Forward passes record what the backward passes need in a `Tape`;
/// backward passes (gradient or a relevance rule) walk it in reverse.
open class Module {
    /// Full dotted path in the model (`layer1.0.conv1`); empty for the model itself.
    public let name: String
    /// Children in timm's registration order.
    public private(set) var children: [Module] = []
    /// Parameters and buffers set so far, by local name; a declared one not
    /// yet set is made from its initial value when first read, so that a
    /// network can be built (and its shapes checked) without allocating its
    /// weights, and loading weights never holds two copies.
    private var values: [String: Tensor] = [:]
    private var initialValues: [String: Float] = [:]
    /// Local state names in registration order, with their required shapes.
    public private(set) var stateShapes: [(name: String, shape: [Int])] = []
    /// The local state names that are buffers (``registerBuffer(_:shape:value:)``), not parameters.
    public private(set) var bufferNames: Set<String> = []

    public init(name: String) { self.name = name }

    /// Dotted path of a child called `local` (`features` + `0` = `features.0`).
    public func childName(_ local: String) -> String { name.isEmpty ? local : "\(name).\(local)" }

    /// Adds `child` to the tree (registration order matters for composite relevance).
    @discardableResult
    public func register<M: Module>(_ child: M) -> M {
        children.append(child)
        return child
    }

    /// Declares a parameter of fixed shape, initialised to `value`.
    public func registerState(_ local: String, shape: [Int], value: Float = 0) {
        stateShapes.append((local, shape))
        initialValues[local] = value
    }

    /// Declares a buffer (PyTorch's `register_buffer`: in the state dict,
    /// not a parameter, e.g. BatchNorm's running statistics) of fixed shape.
    public func registerBuffer(_ local: String, shape: [Int], value: Float = 0) {
        registerState(local, shape: shape, value: value)
        bufferNames.insert(local)
    }

    /// Every parameter and buffer by local name.
    public var state: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: stateShapes.map { ($0.name, parameter($0.name)) })
    }

    /// The parameter or buffer `local`.
    public func parameter(_ local: String) -> Tensor {
        if let t = values[local] { return t }
        guard let declared = stateShapes.first(where: { $0.name == local }), let initial = initialValues[local] else {
            preconditionFailure("\(name) has no state '\(local)'")
        }
        let t = Tensor(shape: declared.shape, repeating: initial)
        values[local] = t
        return t
    }

    /// Replaces a parameter or buffer; the shape must be the declared one.
    public func setParameter(_ local: String, _ value: Tensor) {
        guard let declared = stateShapes.first(where: { $0.name == local }) else {
            preconditionFailure("\(name) has no state '\(local)'")
        }
        precondition(declared.shape == value.shape, "\(name).\(local): shape \(value.shape), expected \(declared.shape)")
        values[local] = value
        stateDidChange()
    }

    /// Called after a parameter changed, so derived caches (|W|) can be rebuilt.
    open func stateDidChange() {}

    /// Every module below and including this one, depth first in registration order.
    public var allModules: [Module] { [self] + children.flatMap(\.allModules) }

    /// State-dict key -> required shape, for this module and all below it.
    public var stateDictShapes: [(key: String, shape: [Int])] {
        allModules.flatMap { m in m.stateShapes.map { (m.childName($0.name), $0.shape) } }
    }

    /// Values of the parameters at and below this module, as PyTorch's
    /// `sum(p.numel() for p in model.parameters())` counts them (buffers not).
    public var parameterCount: Int { stateValueCount(buffers: false) }

    /// Values of the buffers in the state dict at and below this module
    /// (BatchNorm's `running_mean` and `running_var`).
    public var bufferCount: Int { stateValueCount(buffers: true) }

    private func stateValueCount(buffers: Bool) -> Int {
        allModules.reduce(0) { total, m in
            m.stateShapes.filter { m.bufferNames.contains($0.name) == buffers }.reduce(total) { $0 + $1.shape.reduce(1, *) }
        }
    }

    /// Forward pass; records into `context.tape` when it has one.
    open func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        preconditionFailure("\(type(of: self)) \(name) has no single-input forward")
    }

    /// Backward pass: given `r` at this module's output (a gradient or a
    /// relevance, per `context.mode`), returns the same quantity at its input.
    open func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        preconditionFailure("\(type(of: self)) \(name) has no single-input backward")
    }
}

/// Children applied one after another (`nn.Sequential`, and timm's composite
/// modules whose forward is just their children in order). Backward visits the
/// children in reverse registration order.
open class Sequential: Module {
    public init(name: String, _ children: [Module]) {
        super.init(name: name)
        children.forEach { register($0) }
    }

    override public init(name: String) { super.init(name: name) }

    override open func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor {
        context.forward(through: children, x)
    }

    override open func backward(_ r: Tensor, _ context: BackwardContext) -> Tensor {
        let result = context.backward(through: children, r)
        context.trace(name, result)
        return result
    }
}

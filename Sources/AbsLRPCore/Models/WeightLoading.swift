import Foundation

/// Weights that do not fit the architecture. Loading is strict, as timm's
/// `load_state_dict(strict=True)`: every problem is listed, each naming the key.
public enum WeightLoadError: Error, CustomStringConvertible, Equatable {
    case missingKey(key: String, expected: [Int])
    case unexpectedKey(key: String, shape: [Int])
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    /// Several of the above at once.
    case mismatches(file: String, problems: [WeightLoadError])

    public var description: String {
        switch self {
        case .missingKey(let k, let e): return "missing key '\(k)' (expected shape \(e))"
        case .unexpectedKey(let k, let s): return "unexpected key '\(k)' (shape \(s)) not in the architecture"
        case .shapeMismatch(let k, let e, let a): return "key '\(k)' has shape \(a), the architecture needs \(e)"
        case .mismatches(let file, let problems):
            // Grouped by kind, a few of each, so a wrong file is recognisable at a glance.
            let groups: [(String, [WeightLoadError])] = [
                ("missing", problems.filter { if case .missingKey = $0 { true } else { false } }),
                ("unexpected", problems.filter { if case .unexpectedKey = $0 { true } else { false } }),
                ("mis-shaped", problems.filter { if case .shapeMismatch = $0 { true } else { false } }),
            ]
            var lines = ["weights \(file) do not fit the architecture (\(problems.count) problem\(problems.count == 1 ? "" : "s")):"]
            for (kind, items) in groups where !items.isEmpty {
                lines += items.prefix(4).map { "  - \($0)" }
                if items.count > 4 { lines.append("  ... and \(items.count - 4) more \(kind) keys") }
            }
            return lines.joined(separator: "\n")
        }
    }
}

extension Classifier {
    /// State-dict keys of buffers that timm saves but inference never reads.
    static func isIgnoredKey(_ key: String) -> Bool { key.hasSuffix("num_batches_tracked") }

    /// Loads a state dict strictly: the key sets must match exactly (ignoring
    /// `num_batches_tracked`) and every shape must equal the architecture's.
    ///
    /// - Parameters:
    ///   - keys: the keys the source holds; `shape(key)` their shapes;
    ///     `tensor(key)` reads one as float32 (called only after all checks pass).
    public func loadStateDict(keys: [String], shape: (String) -> [Int], tensor: (String) throws -> Tensor,
                              source: String) throws {
        let required = network.stateDictShapes
        let requiredKeys = Set(required.map(\.key))
        var problems: [WeightLoadError] = []
        let present = Set(keys.filter { !Self.isIgnoredKey($0) })
        for (key, expected) in required {
            if !present.contains(key) { problems.append(.missingKey(key: key, expected: expected)) }
            else if shape(key) != expected { problems.append(.shapeMismatch(key: key, expected: expected, actual: shape(key))) }
        }
        for key in present.sorted() where !requiredKeys.contains(key) {
            problems.append(.unexpectedKey(key: key, shape: shape(key)))
        }
        guard problems.isEmpty else { throw WeightLoadError.mismatches(file: source, problems: problems) }
        var modules: [String: Module] = [:]
        for m in network.allModules { for s in m.stateShapes { modules[m.childName(s.name)] = m } }
        for (key, _) in required {
            let module = modules[key]!
            let local = String(key.dropFirst(module.name.isEmpty ? 0 : module.name.count + 1))
            module.setParameter(local, try tensor(key))
        }
    }

    /// Loads an in-memory state dict strictly.
    public func loadStateDict(_ stateDict: [String: Tensor], source: String = "state dict") throws {
        try loadStateDict(keys: Array(stateDict.keys), shape: { stateDict[$0]!.shape }, tensor: { stateDict[$0]! },
                          source: source)
    }

    /// Fills every parameter with seeded random values (He-normal for
    /// convolutions and linear layers, small positive BatchNorm statistics),
    /// for benchmarks and shape checks of full-size models without weights.
    public func randomizeWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for m in network.allModules {
            for (local, shape) in m.stateShapes {
                let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
                let std = Float((2.0 / Double(fanIn)).squareRoot())
                let value: Tensor
                switch local {
                case "running_var":
                    value = Tensor(shape: shape) { _ in 0.5 + rng.nextUniform() }
                case "weight" where shape.count == 1:
                    value = Tensor(shape: shape) { _ in 1 + 0.1 * rng.nextNormal() }
                default:
                    value = Tensor(shape: shape) { _ in (shape.count == 1 ? 0.1 : std) * rng.nextNormal() }
                }
                m.setParameter(local, value)
            }
        }
    }
}

/// A small, fast, seedable generator (SplitMix64), so runs are reproducible
/// whatever the platform's default generator.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Classifier {
    /// Loads timm-keyed weights from a safetensors file (F32, F16 or BF16), strictly.
    public func loadWeights(from url: URL) throws {
        let file = try SafetensorsFile(contentsOf: url)
        try loadStateDict(keys: file.names, shape: { (try? file.info($0).shape) ?? [] },
                          tensor: { try file.tensor($0) }, source: url.path)
    }

    /// Builds a classifier from a configuration and loads its weights.
    public convenience init(configuration: ModelConfiguration, weights: URL) throws {
        self.init(configuration: configuration)
        try loadWeights(from: weights)
    }
}

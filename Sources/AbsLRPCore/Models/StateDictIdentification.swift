/// Which timm names a state dict is the weights of: the names whose
/// recorded shapes checksum equals the file's (the same keys with the same
/// shapes), or else the supported names it differs least from (a
/// fine-tuned head, other widths): the family and variant it is of.
public struct StateDictMatch: Sendable {
    public let entry: TimmModels.Entry
    /// Keys present on one side only.
    public let differingKeys: Int
    /// Shared keys whose shapes differ.
    public let differingShapes: Int

    /// The same keys with the same shapes.
    public var isExact: Bool { differingKeys == 0 && differingShapes == 0 }
}

extension TimmModels {
    /// The names `shapes` fits exactly, or else the supported names with the
    /// fewest differing keys and shapes that share at least half of its keys;
    /// empty when there is none.
    public func matches(for shapes: [(key: String, shape: [Int])]) -> [StateDictMatch] {
        let checksum = Self.shapesChecksum(shapes)
        let exact = models.filter { $0.shapesChecksum == checksum }
        if !exact.isEmpty { return exact.map { StateDictMatch(entry: $0, differingKeys: 0, differingShapes: 0) } }
        let given = Dictionary(shapes.filter { !$0.key.hasSuffix("num_batches_tracked") }.map { ($0.key, $0.shape) },
                               uniquingKeysWith: { first, _ in first })
        var candidates: [StateDictMatch] = []
        for entry in models {
            guard let architecture = try? entry.architecture() else { continue }
            let theirs = architecture.makeNetwork().stateDictShapes
            let shared = theirs.filter { given[$0.key] != nil }
            guard 2 * shared.count >= given.count else { continue }
            candidates.append(StateDictMatch(entry: entry, differingKeys: theirs.count + given.count - 2 * shared.count,
                                             differingShapes: shared.filter { given[$0.key] != $0.shape }.count))
        }
        let fewest = candidates.map { $0.differingKeys + $0.differingShapes }.min()
        return candidates.filter { $0.differingKeys + $0.differingShapes == fewest }
    }
}

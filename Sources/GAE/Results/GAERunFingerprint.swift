import AbsLRPCore
import CZlib
import Foundation

/// What makes two GAE runs the same run, as stored at the head of a
/// ``GAEJournal``: a run is resumed only by a process whose fingerprint is
/// equal, so the resumed results equal an uninterrupted run's bit for bit.
///
/// - `settings`: model name, methods, batch size, steps, seed, pairing,
///   shard, data-set name and size (``GAESettings``);
/// - `orderChecksum`: CRC-32 of the shuffled order of the whole data set
///   (each index as a little-endian `Int64`), so another sampling is refused;
/// - `weightsChecksum`: CRC-32 over the model's state dict in registration
///   order (each key's UTF-8 bytes, then its float32 values);
/// - `firstBatchLogitsChecksum`: CRC-32 of the float32 logits of the shard's
///   first batch (nil for a shard without batches): one forward pass that
///   catches another architecture, preprocessing or data behind the same names;
/// - `blasThreads`: BLAS's thread count, on which the scores' last bits depend;
/// - `keptExtremes`: how many best and worst pictures per method the run
///   keeps (``ExtremeMaps``), so the journal holds every picture it needs.
public struct GAERunFingerprint: Codable, Equatable, Sendable {
    public var settings: GAESettings
    public var orderChecksum: UInt32
    public var weightsChecksum: UInt32
    public var firstBatchLogitsChecksum: UInt32?
    public var blasThreads: Int
    public var keptExtremes: Int

    public init(settings: GAESettings, orderChecksum: UInt32, weightsChecksum: UInt32,
                firstBatchLogitsChecksum: UInt32?, blasThreads: Int, keptExtremes: Int = 0) {
        self.settings = settings
        self.orderChecksum = orderChecksum
        self.weightsChecksum = weightsChecksum
        self.firstBatchLogitsChecksum = firstBatchLogitsChecksum
        self.blasThreads = blasThreads
        self.keptExtremes = keptExtremes
    }

    /// The fields in which `other` (this run's) differs from `self` (the
    /// journal's), as "name: journal A, now B" lines.
    public func differences(from other: GAERunFingerprint) -> [String] {
        func line<T: Equatable>(_ name: String, _ a: T, _ b: T) -> String? { a == b ? nil : "\(name): journal \(a), now \(b)" }
        let (s, o) = (settings, other.settings)
        let named = [
            line("model", s.model, o.model), line("methods", s.methods, o.methods),
            line("batch size", s.batchSize, o.batchSize), line("steps", s.steps, o.steps),
            line("seed", s.seed.map(String.init) ?? "none", o.seed.map(String.init) ?? "none"),
            line("pairing", s.pairing.rawValue, o.pairing.rawValue), line("shard", s.shard, o.shard),
            line("data set", s.dataset, o.dataset), line("data-set size", s.datasetCount, o.datasetCount),
            line("keep-last", s.keepLast == true, o.keepLast == true),
            line("label mapping", s.labelMapping.map { "\($0)" } ?? "none", o.labelMapping.map { "\($0)" } ?? "none"),
            line("data-set order checksum", orderChecksum, other.orderChecksum),
            line("weights checksum", weightsChecksum, other.weightsChecksum),
            line("first-batch logits checksum", firstBatchLogitsChecksum.map(String.init) ?? "none",
                 other.firstBatchLogitsChecksum.map(String.init) ?? "none"),
            line("BLAS threads (OPENBLAS_NUM_THREADS)", blasThreads, other.blasThreads),
            line("best/worst pictures kept (--top)", keptExtremes, other.keptExtremes),
        ].compactMap { $0 }
        // A settings field not named above still refuses the journal.
        return named.isEmpty && self != other ? ["other settings: journal \(settings), now \(other.settings)"] : named
    }

    /// `kept_extremes` may be missing (journals written before it existed: 0).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(settings: try c.decode(GAESettings.self, forKey: .settings),
                  orderChecksum: try c.decode(UInt32.self, forKey: .orderChecksum),
                  weightsChecksum: try c.decode(UInt32.self, forKey: .weightsChecksum),
                  firstBatchLogitsChecksum: try c.decodeIfPresent(UInt32.self, forKey: .firstBatchLogitsChecksum),
                  blasThreads: try c.decode(Int.self, forKey: .blasThreads),
                  keptExtremes: try c.decodeIfPresent(Int.self, forKey: .keptExtremes) ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case settings
        case orderChecksum = "order_crc32", weightsChecksum = "weights_crc32"
        case firstBatchLogitsChecksum = "first_batch_logits_crc32", blasThreads = "blas_threads"
        case keptExtremes = "kept_extremes"
    }
}

/// CRC-32 (zlib's, polynomial 0xEDB88320) accumulated over byte runs.
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = UInt32(crc32_z(UInt(value), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    mutating func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    mutating func update(_ values: [Float]) { values.withUnsafeBytes { update($0) } }

    mutating func update(_ values: [Int]) {
        values.map { Int64($0).littleEndian }.withUnsafeBytes { update($0) }
    }

    static func of(_ data: Data) -> UInt32 {
        var crc = CRC32()
        crc.update(data)
        return crc.value
    }
}

extension Classifier {
    /// CRC-32 over the state dict: keys (UTF-8) and values (float32) in registration order.
    var stateChecksum: UInt32 {
        var crc = CRC32()
        for module in network.allModules {
            for (local, _) in module.stateShapes {
                crc.update(Data(module.childName(local).utf8))
                crc.update(module.parameter(local).storage)
            }
        }
        return crc.value
    }
}

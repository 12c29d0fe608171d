import AbsLRPCore
import Foundation

/// The pictures the best/worst figures (``ExtremesFigure``) draw, kept while
/// a run scores: per method, the positives that rank among the `k` best or
/// the `k` worst so far in the figure's order (``ExtremesFigure/ranked(_:)``),
/// so at most `2k` per method whatever the data set's size. A positive that
/// leaves both groups can never return to them, so the kept ones at the end
/// are exactly the ones the figure shows.
///
/// Each is what a figure cell draws and no more (``Picture``): the positive
/// as the model saw it, de-normalised for display with the classifier's
/// statistics, and the relevance the method returned for it in the run (the
/// map that was scored), summed over channels. A run fills it
/// (``GlobalAttributionEvaluation/run(on:sampling:progress:journal:keeping:)``)
/// and records the pictures it keeps in the resume journal, so a resumed run
/// keeps the same ones.
public final class ExtremeMaps {
    /// One kept positive of one method.
    public struct Picture: Codable, Equatable, Sendable {
        public var method: String
        /// The positive's data-set index (``GAEImageResult/index``).
        public var index: Int
        /// The image, de-normalised for display.
        public var image: RGBImage
        /// (H, W) the method's relevance for the predicted class, summed over channels.
        public var relevance: Tensor

        public init(method: String, index: Int, image: RGBImage, relevance: Tensor) {
            precondition(relevance.shape == [image.height, image.width], "relevance \(relevance.shape), image \(image.width)x\(image.height)")
            self.method = method; self.index = index; self.image = image; self.relevance = relevance
        }

        /// The picture of a positive: `input` (C, H, W) as the model took it,
        /// de-normalised by `display`; `relevance` (C, H, W) summed over
        /// channels, or (H, W) already summed.
        public init(method: String, index: Int, input: Tensor, relevance: Tensor, display: PreprocessingConfig) {
            let summed = SummedRelevance(relevance)
            self.init(method: method, index: index, image: RGBImage(tensor: display.denormalize(input)),
                      relevance: Tensor(shape: [summed.height, summed.width], storage: summed.values))
        }

        enum CodingKeys: String, CodingKey { case method, index, width, height, pixels, relevance }

        /// Pixels and relevance as base64 of their bytes (float32 little-endian): exact.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let (width, height) = (try c.decode(Int.self, forKey: .width), try c.decode(Int.self, forKey: .height))
            let pixels = try c.decode(Data.self, forKey: .pixels), bits = try c.decode(Data.self, forKey: .relevance)
            let (plane, overflow) = width.multipliedReportingOverflow(by: height)
            guard width > 0, height > 0, !overflow, plane <= Int.max / 4, pixels.count == 3 * plane, bits.count == 4 * plane else {
                throw DecodingError.dataCorruptedError(forKey: .pixels, in: c, debugDescription:
                    "\(pixels.count) pixel bytes and \(bits.count) relevance bytes for a \(width)x\(height) picture")
            }
            let values = bits.withUnsafeBytes { raw in
                (0..<plane).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            self.init(method: try c.decode(String.self, forKey: .method), index: try c.decode(Int.self, forKey: .index),
                      image: RGBImage(width: width, height: height, pixels: [UInt8](pixels)),
                      relevance: Tensor(shape: [height, width], storage: values))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(method, forKey: .method)
            try c.encode(index, forKey: .index)
            try c.encode(image.width, forKey: .width)
            try c.encode(image.height, forKey: .height)
            try c.encode(Data(image.pixels), forKey: .pixels)
            try c.encode(relevance.storage.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }, forKey: .relevance)
        }
    }

    /// The best and the worst kept per method.
    public let k: Int
    /// Per method, the kept results best first, with their arrival number and picture.
    private var kept: [String: [(result: GAEImageResult, order: Int, picture: Picture?)]] = [:]
    private var offered: [String: Int] = [:]

    public init(k: Int) { self.k = max(0, k) }

    /// Offers the next result of its method, in the order of the report's
    /// results; `picture` is asked for only when the result is kept (nil:
    /// not at hand, for a result that a later one of its batch displaces;
    /// see ``missingPictures(of:)``).
    /// - Returns: whether it is kept (for now).
    @discardableResult
    public func offer(_ result: GAEImageResult, picture: () throws -> Picture?) rethrows -> Bool {
        let order = offered[result.method, default: 0]
        offered[result.method] = order + 1
        guard k > 0 else { return false }
        var list = kept[result.method, default: []]
        let position = list.firstIndex { ExtremesFigure.ranksAbove(result, order, $0.result, $0.order) } ?? list.count
        // Past the k best and before the k worst of a full list: neither now nor later.
        guard list.count < 2 * k || position < k || position > list.count - k else { return false }
        list.insert((result, order, try picture()), at: position)
        if list.count > 2 * k { list.remove(at: k) }
        kept[result.method] = list
        return true
    }

    /// The kept picture of `method`'s positive `index`.
    public func picture(method: String, index: Int) -> Picture? {
        kept[method]?.first { $0.result.index == index }?.picture
    }

    /// Gives the kept result of `picture`'s method and index its picture
    /// (a resumed run's, read back from the journal).
    public func fill(_ picture: Picture) {
        guard let i = kept[picture.method]?.firstIndex(where: { $0.result.index == picture.index }) else { return }
        kept[picture.method]?[i].picture = picture
    }

    /// The results of `results` that are kept without a picture.
    public func missingPictures(of results: [GAEImageResult]) -> [GAEImageResult] {
        results.filter { r in kept[r.method]?.contains { $0.result.index == r.index && $0.picture == nil } ?? false }
    }

    /// Every kept picture of the results `results` (a batch's).
    public func pictures(of results: [GAEImageResult]) -> [Picture] {
        results.compactMap { picture(method: $0.method, index: $0.index) }
    }
}

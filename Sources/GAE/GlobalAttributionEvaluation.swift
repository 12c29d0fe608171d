import AbsLRPCore
import Foundation

/// The settings of a GAE run.
public struct GAEConfiguration: Equatable, Sendable {
    /// Images per batch, a positive multiple of 4 (one mosaic per 4 images).
    public var batchSize: Int
    /// Masking steps (the reference's `num_masking_steps`, 10), at most
    /// ``maximumSteps``.
    public var steps: Int
    /// The most masking steps a run takes: each step costs one relevance
    /// computation per method and positive image, and at 1000 steps one step
    /// masks 0.1% of the pixels.
    public static let maximumSteps = 1000
    /// The seed of the default ``SeededSampling``.
    public var seed: UInt64
    public var pairing: PositivePairing
    /// The part of the run to evaluate (``Shard/whole`` by default).
    public var shard: Shard
    /// Score the images after the last full batch in one smaller final batch
    /// of a multiple of 4 of them (mosaics need 4 images); the rest (at most
    /// 3) stay unscored. Off by default, as the reference drops them.
    public var keepLast: Bool

    public init(batchSize: Int, steps: Int = 10, seed: UInt64 = 0, pairing: PositivePairing = .consistent,
                shard: Shard = .whole, keepLast: Bool = false) {
        self.batchSize = batchSize
        self.steps = steps
        self.seed = seed
        self.pairing = pairing
        self.shard = shard
        self.keepLast = keepLast
    }
}

/// Global Attribution Evaluation (spec section 6): scores relevancy methods
/// on a data set by local consistency (faithfulness and robustness under
/// stepwise masking) and contrastiveness (relevance on the right tiles of
/// 2x2 image mosaics); GAE is their product.
///
/// For each batch of `B` images (data set shuffled; the incomplete last
/// batch dropped and reported in the settings' `leftover`, or with
/// ``GAEConfiguration/keepLast`` scored as a smaller batch of a multiple of
/// 4), with `M = B / 4`:
/// 1. `o = model(x)`, `pred = argmax o`;
/// 2. `M` mosaics of half-size images (``Mosaic``), `o_mosaic = model(mosaics)`;
/// 3. each mosaic draws its positive image (``PositivePairing``, ``GAESampling``);
///    the positives `xp` are explained for `yp = pred[positive]`;
/// 4. stepwise masking of `xp` by input-times-gradient maps, most and least
///    relevant first (``StepwiseMasking``), and their combined impact map;
/// 5. the score mosaics (``PositivePairing``, ``Mosaic/scoreMosaics(_:channels:imageHeight:imageWidth:)``);
/// 6. per method (a method with a random stream restarted at the batch's
///    number, ``RelevancyMethod/restartRandomness(at:)``), the relevance `rel = normalize_max(relu(R))` of `xp`, of
///    the mosaics and of every masked step (all for `yp`), and the scores
///    (``Scoring``, ``GAEScores``). The first method that explains the
///    classifier's own recorded forward (``RecordedRelevancyMethod``: absLRP
///    without canonizers) explains `xp` from the record of the masking's
///    first step, the mosaics from step 2's forward (then recorded), and the
///    masked steps during the masking, from the forwards it records anyway; the others
///    explain both orders of a step in one call of `2M` images after it.
///
/// Every forward runs once: the first batch's clean forward is also the
/// journal's fingerprint (``GAERunFingerprint``), and the masking's first
/// step, of the unmasked `xp`, is measured once for both orders.
///
/// The two orders' masking runs on two threads, one core each (``concurrently``),
/// and so do that method's `R0` and `Rmos`; everything else on the calling thread (the matrix products may use BLAS
/// threads); results depend only on the data, the model, the sampling and,
/// in the last float digits, BLAS's thread count (``SeededSampling``).
public final class GlobalAttributionEvaluation {
    public let classifier: Classifier
    public let methods: [RelevancyMethod]
    public let configuration: GAEConfiguration

    /// - Throws: ``GAEError`` for a batch size that is not a positive multiple
    ///   of 4, fewer than one step, an invalid shard, no methods or two
    ///   methods of one name.
    public init(classifier: Classifier, methods: [RelevancyMethod], configuration: GAEConfiguration) throws {
        guard configuration.batchSize > 0, configuration.batchSize % 4 == 0 else {
            throw GAEError.batchSizeNotMultipleOfFour(configuration.batchSize)
        }
        guard (1...GAEConfiguration.maximumSteps).contains(configuration.steps) else {
            throw GAEError.invalidSteps(configuration.steps)
        }
        try configuration.shard.validate()
        guard !methods.isEmpty else { throw GAEError.noMethods }
        var names = Set<String>()
        for method in methods where !names.insert(method.name).inserted { throw GAEError.duplicateMethod(method.name) }
        self.classifier = classifier
        self.methods = methods
        self.configuration = configuration
    }

    /// Evaluates the configuration's shard of `dataset`.
    ///
    /// - Parameters:
    ///   - sampling: the data-set order and positive draws; by default
    ///     ``SeededSampling`` with the configuration's seed.
    ///   - progress: told after every batch; nothing is reported without it.
    ///   - journal: where to record each completed batch durably
    ///     (``GAEJournal``). With ``GAEJournal/Use/resume(_:)`` the batches
    ///     already in the journal are taken from it, after checking that it
    ///     was made by this run (``GAERunFingerprint``), and the run goes on
    ///     with the next; the report equals an uninterrupted run's except for
    ///     the seconds.
    ///   - extremes: where to keep the pictures of each method's best and
    ///     worst positives for ``ExtremesFigure`` (``ExtremeMaps``: the images
    ///     de-normalised with the classifier's statistics, the scored maps);
    ///     its `k` is part of the run's fingerprint, and the journal records
    ///     the kept pictures, so a resumed run keeps the same ones.
    /// - Throws: ``GAEError`` (data set smaller than a batch, unreadable image,
    ///   image size the model cannot take, label out of range, unusable
    ///   sampling, a journal of another run or a damaged one); errors of the
    ///   methods themselves as they throw them.
    public func run(on dataset: GAEDataset, sampling: GAESampling? = nil,
                    progress: ProgressReporter? = nil, journal use: GAEJournal.Use? = nil,
                    keeping extremes: ExtremeMaps? = nil) throws -> GAEReport {
        let sampling = sampling ?? SeededSampling(seed: configuration.seed)
        let b = configuration.batchSize, n = dataset.count
        guard n >= b || (configuration.keepLast && n >= 4) else { throw GAEError.datasetTooSmall(count: n, batchSize: b) }
        let order = sampling.order(count: n)
        guard order.count == n, Set(order) == Set(0..<n) else {
            throw GAEError.invalidSampling("the order of \(order.count) indices is not a permutation of 0..<\(n)")
        }
        var settings = GAESettings(model: classifier.configuration.name, methods: methods.map(\.name), batchSize: b,
                                   steps: configuration.steps, seed: sampling.seed, pairing: configuration.pairing,
                                   shard: configuration.shard, dataset: dataset.name, datasetCount: n)
        settings.keepLast = configuration.keepLast ? true : nil
        settings.labelMapping = dataset.labelMapping
        let scored = settings.scoredImages
        settings.leftover = scored < n ? Array(order[scored...]) : nil
        let batchNumbers = configuration.shard.batches(of: settings.batchCount)
        func indices(of batch: Int) -> [Int] { Array(order[(batch * b)..<(batch * b + settings.size(ofBatch: batch))]) }
        let start = DispatchTime.now().uptimeNanoseconds
        // the journal's fingerprint holds the first batch's logits: its batch and
        // logits serve the batch itself when it is evaluated next
        var firstBatch: (x: Tensor, labels: [Int], logits: Tensor)?
        let journal = try use.map { use -> GAEJournal in
            if let first = batchNumbers.first {
                let (x, labels) = try loadBatch(dataset, indices: indices(of: first))
                firstBatch = (x, labels, classifier.logits(x))
            }
            return try GAEJournal.open(use, fingerprint: fingerprint(settings, order: order, firstBatchLogits: firstBatch?.logits,
                                                                     keptExtremes: extremes?.k ?? 0))
        }
        let done = journal?.entries ?? []
        if !done.isEmpty { firstBatch = nil }
        if let journal {
            try check(done, of: journal, batches: batchNumbers, indices: indices)
            if let extremes { try replay(done, of: journal, into: extremes) }
        }
        let display = classifier.configuration.displayPreprocessing
        func image(_ batch: Tensor, _ i: Int) -> Tensor { batch.batchSlice(i..<(i + 1)).reshaped(Array(batch.shape.dropFirst())) }

        let earlierSeconds = done.last?.seconds ?? 0
        func seconds() -> Double { earlierSeconds + Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let total = batchNumbers.reduce(0) { $0 + settings.size(ofBatch: $1) }
        var batches = done.map(\.batch), results = done.flatMap(\.results)
        var imagesDone = batches.reduce(0) { $0 + $1.indices.count }
        progress?.report(GAEProgress(imagesDone: imagesDone, imagesTotal: total, elapsed: earlierSeconds))

        for batch in batchNumbers.dropFirst(done.count) {
            methods.forEach { $0.restartRandomness(at: UInt64(batch)) }
            let indices = indices(of: batch)
            let (x, labels) = try firstBatch.map { ($0.x, $0.labels) } ?? loadBatch(dataset, indices: indices)
            let outcome = try evaluateBatch(x, labels: labels, batch: batch, sampling: sampling, cleanLogits: firstBatch?.logits)
            firstBatch = nil
            var batchResults: [GAEImageResult] = []
            let mosaicCount = outcome.positives.count
            for (m, positive) in outcome.positives.enumerated() {
                let tiles = (0..<4).map { indices[Mosaic.tileSource(mosaic: m, quadrant: $0, mosaics: mosaicCount)] }
                for (k, method) in methods.enumerated() {
                    let result = GAEImageResult(method: method.name, batch: batch, index: indices[positive],
                                                mosaic: tiles, label: labels[positive],
                                                prediction: outcome.predictions[positive], scores: outcome.scores[k][m],
                                                constantMap: outcome.constantMaps[k][m], source: dataset.itemName(at: indices[positive]))
                    batchResults.append(result)
                    extremes?.offer(result) {
                        ExtremeMaps.Picture(method: method.name, index: result.index, input: image(outcome.positiveInputs, m),
                                            relevance: image(outcome.relevance[k], m), display: display)
                    }
                }
            }
            let record = GAEBatchRecord(batch: batch, indices: indices)
            try journal?.append(GAEJournal.Entry(batch: record, results: batchResults, seconds: seconds(),
                                                 pictures: extremes?.pictures(of: batchResults) ?? []))
            batches.append(record)
            results += batchResults
            imagesDone += indices.count
            progress?.report(GAEProgress(imagesDone: imagesDone, imagesTotal: total, elapsed: seconds()))
        }
        return GAEReport(settings: settings, batches: batches, results: results,
                         throughput: GAEThroughput(images: total, seconds: seconds()))
    }

    /// The fingerprint of this run (``GAERunFingerprint``).
    private func fingerprint(_ settings: GAESettings, order: [Int], firstBatchLogits: Tensor?,
                             keptExtremes: Int) -> GAERunFingerprint {
        var orderChecksum = CRC32()
        orderChecksum.update(order)
        let logitsChecksum = firstBatchLogits.map { logits -> UInt32 in
            var crc = CRC32()
            crc.update(logits.storage)
            return crc.value
        }
        return GAERunFingerprint(settings: settings, orderChecksum: orderChecksum.value,
                                 weightsChecksum: classifier.stateChecksum, firstBatchLogitsChecksum: logitsChecksum,
                                 blasThreads: blasThreadCount, keptExtremes: keptExtremes)
    }

    /// Checks that the journal's entries are the first batches of this run:
    /// the shard's batch numbers in order, their data-set indices, and one
    /// result per mosaic and method with the run's method names.
    private func check(_ entries: [GAEJournal.Entry], of journal: GAEJournal, batches: Range<Int>,
                       indices: (Int) -> [Int]) throws {
        func refuse(_ reason: String) -> GAEError { GAEError.corruptJournal(path: journal.url.path, reason: reason) }
        guard entries.count <= batches.count else {
            throw refuse("it records \(entries.count) batches, but shard \(configuration.shard) has \(batches.count)")
        }
        for (entry, batch) in zip(entries, batches) {
            guard entry.batch.batch == batch else { throw refuse("batch \(entry.batch.batch) where batch \(batch) belongs") }
            guard entry.batch.indices == indices(batch) else {
                throw refuse("batch \(batch) holds other data-set indices than this run's")
            }
            let expected = (0..<(entry.batch.indices.count / 4)).flatMap { _ in methods.map(\.name) }
            guard entry.results.map(\.method) == expected, entry.results.allSatisfy({ $0.batch == batch }) else {
                throw refuse("batch \(batch) does not hold one result per mosaic and method")
            }
        }
    }

    /// Offers the results of the journal's batches to `extremes` in the run's
    /// order, then reads back from the journal the pictures of those still
    /// kept (at most `2k` per method: the journal's entries hold none, so a
    /// resumed run never holds the pictures of every batch); each must be there.
    private func replay(_ entries: [GAEJournal.Entry], of journal: GAEJournal, into extremes: ExtremeMaps) throws {
        let results = entries.flatMap(\.results)
        for result in results { extremes.offer(result) { nil } }
        let kept = extremes.missingPictures(of: results)
        for picture in try journal.recordedPictures(of: kept) { extremes.fill(picture) }
        if let missing = extremes.missingPictures(of: kept).first {
            throw GAEError.corruptJournal(path: journal.url.path, reason: "batch \(missing.batch) lacks the "
                                          + "picture of \(missing.method)'s positive #\(missing.index)")
        }
    }

    /// What one batch gives: the positives (batch indices, mosaic order) and
    /// their images `positiveInputs` (M, C, H, W), the batch's predictions,
    /// `scores[method][mosaic]`, whether each method's map of each positive
    /// was constant, `constantMaps[method][mosaic]`, and each method's
    /// relevance of the positives as it returned it, summed over channels,
    /// `relevance[method]` (M, H, W): what a best/worst figure draws.
    struct BatchOutcome {
        var positives: [Int]
        var positiveInputs: Tensor
        var predictions: [Int]
        var scores: [[GAEScores]]
        var constantMaps: [[Bool]]
        var relevance: [Tensor]
    }

    /// Steps 1-6 for one batch `x` (B, C, H, W) with data-set labels
    /// `labels`; `cleanLogits`, when given, are `classifier.logits(x)`.
    func evaluateBatch(_ x: Tensor, labels: [Int], batch: Int, sampling: GAESampling,
                       cleanLogits: Tensor? = nil) throws -> BatchOutcome {
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let mosaicCount = x.shape[0] / 4
        let logits = cleanLogits ?? classifier.logits(x)
        let predictions = logits.argmaxRows()
        let mosaics = Mosaic.assemble(Mosaic.downscaleNearest(x, height: h / 2, width: w / 2))
        // the first method that explains the classifier's own record takes R0, Rmos and
        // the masked inputs' relevance from forwards the run makes anyway (it releases their records)
        let recorded = methods.lazy.compactMap { $0 as? RecordedRelevancyMethod }
            .first { $0.explainsClassifierRecord && $0.classifier === classifier }
        let mosaicRecord = recorded.map { _ in classifier.recordedForward(mosaics) }
        let mosaicLogits = mosaicRecord?.logits ?? classifier.logits(mosaics)

        let pairing = configuration.pairing
        let positives = try (0..<mosaicCount).map { m -> Int in
            let p = pairing.drawProbabilities(mosaic: m, mosaics: mosaicCount, predictions: predictions,
                                              mosaicLogits: mosaicLogits)
            let draw = sampling.draw(batch: batch, mosaic: m, probabilities: p)
            guard (0..<4).contains(draw) else {
                throw GAEError.invalidSampling("draw \(draw) for mosaic \(m) of batch \(batch); draws are 0...3")
            }
            return pairing.candidate(mosaic: m, draw: draw, mosaics: mosaicCount)
        }
        let xp = Tensor.concatenateBatch(positives.map { x.batchSlice($0..<($0 + 1)) })
        let yp = positives.map { predictions[$0] }

        let steps = configuration.steps
        let (first, recordedMaps) = try firstMaskingStep(xp, targets: yp, mosaics: mosaicRecord.map { (mosaics, $0) },
                                                         explaining: recorded)
        let (morf, lerf) = try StepwiseMasking.runBothOrders(from: first, classifier: classifier, steps: steps,
                                                             explaining: recorded)
        let impactMap = Scoring.combinedImpactMap(morfSum: morf.mapSum, lerfSum: lerf.mapSum)
        let scoreMosaic = Mosaic.scoreMosaics(pairing.tileScores(positives: positives, logits: logits, labels: labels),
                                              channels: c, imageHeight: h, imageWidth: w)

        var constantMaps: [[Bool]] = [], relevance: [Tensor] = []
        let scores = try methods.map { method -> [GAEScores] in
            let recordedMaps = recorded === method ? recordedMaps : nil
            let signed = try recordedMaps?.initial ?? method.finiteRelevance(xp, targets: yp)
            relevance.append(Tensor(shape: [mosaicCount, h, w], storage: (0..<mosaicCount).flatMap { m in
                SummedRelevance(signed.batchSlice(m..<(m + 1)).reshaped([c, h, w])).values
            }))
            let initial = Scoring.positivePart(signed)
            constantMaps.append((0..<mosaicCount).map { m in
                SummedRelevance(initial.batchSlice(m..<(m + 1)).reshaped([c, h, w])).isConstant
            })
            let mosaic = try recordedMaps.map { Scoring.positivePart($0.mosaic) }
                ?? Scoring.positiveRelevance(method, mosaics, targets: yp)
            var morfRelevance: [Tensor] = [], lerfRelevance: [Tensor] = []
            if recordedMaps != nil {
                (morfRelevance, lerfRelevance) = (morf.relevance, lerf.relevance)
            } else {
                for k in 1..<steps {
                    // One call for both orders of a step: rows 0..<M MoRF, M..<2M LeRF.
                    let both = try Scoring.positiveRelevance(method, Tensor.concatenateBatch([morf.inputs[k], lerf.inputs[k]]),
                                                             targets: yp + yp)
                    morfRelevance.append(both.batchSlice(0..<mosaicCount))
                    lerfRelevance.append(both.batchSlice(mosaicCount..<(2 * mosaicCount)))
                }
            }
            let scores = Scoring.scores(initial: initial, mosaic: mosaic, morf: morfRelevance, lerf: lerfRelevance,
                                        morfOutputs: morf.outputs, lerfOutputs: lerf.outputs, impactMap: impactMap,
                                        scoreMosaic: scoreMosaic)
            for (m, s) in scores.enumerated() {
                let values = [s.faithfulness, s.robustness, s.localConsistency, s.contrastiveness, s.gae]
                guard values.allSatisfy(\.isFinite) else {
                    throw GAEError.nonFiniteScore(method: method.name, batch: batch, mosaic: m, scores: values)
                }
            }
            return scores
        }
        return BatchOutcome(positives: positives, positiveInputs: xp, predictions: predictions, scores: scores,
                            constantMaps: constantMaps, relevance: relevance)
    }

    /// The masking's first step of the positives `xp` (M, C, H, W) for
    /// `targets` (M), common to both orders (``StepwiseMasking/measure(classifier:_:targets:)``).
    /// With `method` (the run's first ``RecordedRelevancyMethod`` on the
    /// classifier's own record) also its relevance `R0` of `xp` from the
    /// step's recorded forward and `Rmos` of `mosaics` from their recorded
    /// forward (`mosaics.record`, whose logits chose the positives), the two
    /// at the same time, one core each (``concurrently``).
    /// - Throws: ``NonFiniteRelevanceError`` when a map is not finite.
    private func firstMaskingStep(_ xp: Tensor, targets: [Int], mosaics: (input: Tensor, record: (logits: Tensor, tape: Tape))?,
                                  explaining method: RecordedRelevancyMethod?) throws
        -> (step: MaskingStep, recorded: (initial: Tensor, mosaic: Tensor)?) {
        let (step, logits, tape) = StepwiseMasking.measure(classifier: classifier, xp, targets: targets)
        guard let method, let mosaics else { return (step, nil) }
        let (initial, mosaic) = concurrently(
            { method.relevance(recorded: tape, logits: logits, targets: targets) },
            { method.relevance(recorded: mosaics.record.tape, logits: mosaics.record.logits, targets: targets) })
        try method.requireFiniteRelevance(initial, input: xp, targets: targets)
        try method.requireFiniteRelevance(mosaic, input: mosaics.input, targets: targets)
        return (step, (initial, mosaic))
    }

    /// Reads and checks the images `indices` of `dataset` into one (B, C, H, W) batch.
    private func loadBatch(_ dataset: GAEDataset, indices: [Int]) throws -> (Tensor, [Int]) {
        var values: [Float] = [], labels: [Int] = [], shape: [Int] = []
        for index in indices {
            let item: (image: Tensor, label: Int)
            do { item = try dataset.image(at: index) } catch let error as GAEError { throw error } catch {
                throw GAEError.unreadableImage(item: dataset.itemName(at: index), reason: "\(error)")
            }
            if shape.isEmpty {
                shape = item.image.shape
                try checkSize(shape, item: dataset.itemName(at: index))
            } else if item.image.shape != shape {
                throw GAEError.unsupportedImageSize(item: dataset.itemName(at: index), shape: item.image.shape,
                                                    reason: "the images of a batch must share one shape; others are \(shape)")
            }
            guard (0..<classifier.numClasses).contains(item.label) else {
                throw GAEError.labelOutOfRange(item: dataset.itemName(at: index), label: item.label, classes: classifier.numClasses)
            }
            values += item.image.storage
            labels.append(item.label)
        }
        return (Tensor(shape: [indices.count] + shape, storage: values), labels)
    }

    /// Checks that the model takes images of `shape` (C, H, W) and their mosaics (C, 2(H/2), 2(W/2)).
    private func checkSize(_ shape: [Int], item: String) throws {
        guard shape.count == 3, shape[1] >= 2, shape[2] >= 2 else {
            throw GAEError.unsupportedImageSize(item: item, shape: shape, reason: "need (C, H, W) with H, W >= 2")
        }
        let mosaic = [1, shape[0], shape[1] / 2 * 2, shape[2] / 2 * 2]
        for batchShape in [[1] + shape, mosaic] {
            do { try classifier.validateInput(Tensor(shape: batchShape)) } catch let error as ClassifierInputError {
                let what = batchShape == mosaic && mosaic != [1] + shape ? " (its mosaic is \(mosaic[2])x\(mosaic[3]))" : ""
                throw GAEError.unsupportedImageSize(item: item, shape: shape, reason: error.description + what)
            }
        }
    }
}

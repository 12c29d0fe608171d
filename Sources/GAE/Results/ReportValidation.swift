extension GAEReport {
    /// Checks that the report is what a run (or one shard of it) with its
    /// settings writes, so that a file edited by hand, cut, or put together
    /// from other runs is refused before it is merged:
    ///
    /// - settings: methods present and distinct, batch size a positive
    ///   multiple of 4, steps in `1 ... GAEConfiguration.maximumSteps`, a data
    ///   set of at least one batch, a valid shard;
    /// - batches: exactly the shard's batch numbers in order, each with
    ///   `batch_size` indices (the final one of a `keep_last` run its
    ///   ``GAESettings/finalBatchSize``) inside the data set, no image in two places;
    /// - results: per batch, per mosaic, per method in order, exactly one,
    ///   whose mosaic tiles are the batch's images at their places, whose
    ///   positive is one of the mosaic's four candidates and appears once per
    ///   method; label and prediction not negative;
    /// - scores: finite, faithfulness and robustness in [-1, 1] (plus float
    ///   rounding), contrastiveness not negative, local consistency and GAE
    ///   the products the run computes;
    /// - throughput: images = batches x batch size, seconds finite and not negative.
    ///
    /// - Throws: ``GAEError/inconsistentResults(source:reason:)`` naming `source`.
    public func validate(source: String) throws {
        func fail(_ reason: String) -> GAEError { .inconsistentResults(source: source, reason: reason) }
        let s = settings
        guard !s.methods.isEmpty, Set(s.methods).count == s.methods.count else {
            throw fail("the methods \(s.methods) are empty or repeat a name")
        }
        guard s.batchSize > 0, s.batchSize % 4 == 0 else { throw fail("batch size \(s.batchSize) is not a positive multiple of 4") }
        guard (1...GAEConfiguration.maximumSteps).contains(s.steps) else { throw fail("\(s.steps) masking steps") }
        guard s.batchCount >= 1 else {
            throw fail("a data set of \(s.datasetCount) images holds no batch of \(s.batchSize)")
        }
        do { try s.shard.validate() } catch { throw fail("\(error)") }

        let expected = Array(s.shard.batches(of: s.batchCount))
        guard batches.map(\.batch) == expected else {
            throw fail("shard \(s.shard) must hold batches \(expected.first.map { "\($0)..<\(expected.last! + 1)" } ?? "none"), "
                       + "the file lists \(batches.map(\.batch))")
        }
        var seen = Set<Int>()
        for record in batches {
            guard record.indices.count == s.size(ofBatch: record.batch) else {
                throw fail("batch \(record.batch) has \(record.indices.count) images, not \(s.size(ofBatch: record.batch))")
            }
            for index in record.indices {
                guard (0..<s.datasetCount).contains(index) else {
                    throw fail("batch \(record.batch) names image \(index), outside the data set's 0..<\(s.datasetCount)")
                }
                guard seen.insert(index).inserted else { throw fail("image \(index) appears twice") }
            }
        }

        let allMosaics = batches.reduce(0) { $0 + $1.indices.count / 4 }
        guard results.count == allMosaics * s.methods.count else {
            throw fail("\(results.count) results for \(batches.count) batches of \(allMosaics) mosaics in all and "
                       + "\(s.methods.count) methods (need one per mosaic and method)")
        }
        var positives = Set<[Int]>(), next = 0
        for record in batches {
            let mosaics = record.indices.count / 4
            for m in 0..<mosaics {
                let tiles = (0..<4).map { record.indices[Mosaic.tileSource(mosaic: m, quadrant: $0, mosaics: mosaics)] }
                let candidates = (0..<4).map { record.indices[s.pairing.candidate(mosaic: m, draw: $0, mosaics: mosaics)] }
                for (methodNumber, method) in s.methods.enumerated() {
                    let r = results[next]
                    next += 1
                    let place = "result \(next - 1) (batch \(record.batch), mosaic \(m), \(method))"
                    guard r.method == method, r.batch == record.batch else {
                        throw fail("\(place) is for \(r.method) in batch \(r.batch)")
                    }
                    guard r.mosaic == tiles else { throw fail("\(place) has mosaic \(r.mosaic), the batch's is \(tiles)") }
                    guard candidates.contains(r.index) else {
                        throw fail("\(place) explains image \(r.index), not one of the mosaic's candidates \(candidates)")
                    }
                    guard positives.insert([methodNumber, r.index]).inserted else {
                        throw fail("\(place): image \(r.index) is explained twice for \(method)")
                    }
                    guard r.label >= 0, r.prediction >= 0 else {
                        throw fail("\(place) has label \(r.label) and prediction \(r.prediction)")
                    }
                    try checkScores(r.scores, place: place, fail: fail)
                }
            }
        }
        let images = batches.reduce(0) { $0 + $1.indices.count }
        guard throughput.images == images, throughput.seconds.isFinite, throughput.seconds >= 0 else {
            throw fail("throughput \(throughput.images) images in \(throughput.seconds) s for \(batches.count) batches")
        }
    }

    /// Scores are finite and in their ranges, the combined ones as computed.
    private func checkScores(_ v: GAEScores, place: String, fail: (String) -> GAEError) throws {
        let all = [v.faithfulness, v.robustness, v.localConsistency, v.contrastiveness, v.gae]
        guard all.allSatisfy(\.isFinite) else { throw fail("\(place) has a score that is not finite: \(all)") }
        let unit: ClosedRange<Float> = -1.0001...1.0001
        guard unit.contains(v.faithfulness), unit.contains(v.robustness), v.contrastiveness >= 0 else {
            throw fail("\(place) has faithfulness \(v.faithfulness), robustness \(v.robustness) (both in [-1, 1]) "
                       + "and contrastiveness \(v.contrastiveness) (not negative)")
        }
        let sum = v.faithfulness + v.robustness
        guard v.localConsistency == (sum < 0 ? 0 : sum) / 2, v.gae == v.localConsistency * v.contrastiveness else {
            throw fail("\(place): local consistency \(v.localConsistency) and GAE \(v.gae) are not "
                       + "relu(faithfulness + robustness) / 2 and local consistency x contrastiveness")
        }
    }
}

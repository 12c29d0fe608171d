/// Mean and 95% confidence interval of one score over `n` positive images.
///
/// The interval is the normal approximation `mean ± 1.96 · sd / sqrt(n)`,
/// with `sd` the sample standard deviation (divisor `n - 1`); it needs
/// `n >= 2` and is nil below. Sums run in `Double` over the values in report
/// order, so a merged report's summary equals a single run's bit for bit.
/// (For small `n` the normal quantile makes the interval a little narrower
/// than Student's t would: 1.96 against 2.26 at n = 10, 2.01 at n = 50.)
public struct GAEStatistic: Codable, Equatable, Sendable {
    /// The mean; nil when there are no values.
    public var mean: Double?
    /// The interval's bounds; nil when there are fewer than two values.
    public var ci95Low: Double?
    public var ci95High: Double?

    /// The normal quantile of the two-sided 95% interval.
    public static let z95 = 1.96

    public init(_ values: [Float]) {
        guard !values.isEmpty else { return }
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        self.mean = mean
        guard values.count >= 2 else { return }
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        let half = Self.z95 * (variance / n).squareRoot()
        ci95Low = mean - half
        ci95High = mean + half
    }

    enum CodingKeys: String, CodingKey {
        case mean
        case ci95Low = "ci95_low", ci95High = "ci95_high"
    }
}

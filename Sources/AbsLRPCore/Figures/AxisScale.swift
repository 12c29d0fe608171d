import Foundation

/// A numeric axis with "nice" ticks: the range covering some values, widened
/// to whole multiples of a step of 1, 2, 2.5 or 5 times a power of ten, and
/// the mapping from values to pixels. Every chart's axes come from here.
public struct AxisScale: Equatable, Sendable {
    /// The axis's ends: the first and last tick.
    public let lower: Double
    public let upper: Double
    /// Distance between ticks.
    public let step: Double

    /// The axis covering every finite value of `values` and `included`
    /// (0 by default, so bars start at the axis), with about `tickCount`
    /// intervals. A single value gets a range of one step around it.
    public init(covering values: [Double], including included: [Double] = [0], tickCount: Int = 5) {
        let finite = (values + included).filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if high - low <= max(abs(high), abs(low)) * 1e-12 {
            let pad = low == 0 ? 1 : abs(low) / 2
            (low, high) = (low - pad, high + pad)
        }
        let step = Self.niceStep((high - low) / Double(max(tickCount, 1)))
        self.step = step
        lower = (low / step * (1 + 1e-12)).rounded(.down) * step
        upper = (high / step * (1 - 1e-12)).rounded(.up) * step
    }

    /// The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        let power = pow(10, log10(max(raw, 1e-12)).rounded(.down))
        return [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw * (1 - 1e-9) }!
    }

    /// The tick values from `lower` to `upper`.
    public var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded())
        return (0...count).map { i in
            let v = lower + Double(i) * step
            return abs(v) < step * 1e-9 ? 0 : v
        }
    }

    /// Decimals that tell the ticks apart (2.5 steps need one more).
    public var decimals: Int {
        let base = max(0, -Int(log10(step).rounded(.down)))
        let scaled = step / pow(10, -Double(base))
        return abs(scaled - scaled.rounded()) > 1e-9 ? base + 1 : base
    }

    /// `v` as a tick label: `decimals` decimals, or 3 significant digits
    /// from 10^4 on; the minus sign is U+2212 as typeset numbers have it.
    public func label(_ v: Double) -> String {
        Self.format(v, decimals: decimals)
    }

    /// `v` with `decimals` decimals, or 3 significant digits in exponent
    /// form from 10^4 on; the minus sign is U+2212 as typeset numbers have it.
    public static func format(_ v: Double, decimals: Int) -> String {
        let text = abs(v) >= 1e4 ? String(format: "%.3g", v) : String(format: "%.\(decimals)f", v)
        return typeset(text)
    }

    /// `v` in `digits` significant digits (`%g`), minus as U+2212.
    public static func significant(_ v: Double, digits: Int = 3) -> String {
        typeset(String(format: "%.\(digits)g", v))
    }

    private static func typeset(_ text: String) -> String {
        text.hasPrefix("-") ? "\u{2212}" + text.dropFirst() : text
    }

    /// The pixel of `v` on an axis drawn from `start` (at `lower`) to `end` (at `upper`).
    public func position(_ v: Double, from start: Double, to end: Double) -> Double {
        start + (v - lower) / (upper - lower) * (end - start)
    }
}

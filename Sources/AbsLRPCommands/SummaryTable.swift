import GAE

/// The per-method summary as a text table.
enum SummaryTable {
    static func print(_ report: GAEReport) {
        Swift.print("method                     n   local consistency      contrastiveness        GAE")
        for s in report.summary {
            func cell(_ stat: GAEStatistic) -> String {
                let text: String
                if let mean = stat.mean, let low = stat.ci95Low, let high = stat.ci95High {
                    text = String(format: "%.4f ± %.4f", mean, (high - low) / 2)
                } else {
                    text = stat.mean.map { String(format: "%.4f", $0) } ?? "-"
                }
                return text.padding(toLength: 23, withPad: " ", startingAt: 0)
            }
            Swift.print(s.method.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%5d", s.count) + "   "
                        + cell(s.localConsistency) + cell(s.contrastiveness) + cell(s.gae))
        }
    }
}

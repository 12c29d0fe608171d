import XCTest
import AbsLRPCore

/// Element-by-element comparison with a tolerance `|a - e| <= atol + rtol * |e|`.
/// On failure reports the number of violations, the worst element (flat index,
/// both values), and the first few offending pairs, at the caller's location.
func assertClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float = 0, atol: Float = 0,
    _ label: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.shape == expected.shape else {
        XCTFail("\(label()): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return
    }
    var bad = 0, worst = -1
    var worstExcess: Float = 0
    var firstFew: [String] = []
    for i in 0..<actual.count {
        let a = actual.storage[i], e = expected.storage[i]
        let bound = atol + rtol * abs(e)
        let diff = abs(a - e)
        if !(diff <= bound) {
            bad += 1
            if firstFew.count < 5 { firstFew.append("[\(i)] \(a) vs \(e)") }
            let excess = diff.isNaN ? .infinity : diff - bound
            if worst < 0 || excess > worstExcess { worst = i; worstExcess = excess }
        }
    }
    if bad > 0 {
        XCTFail("\(label()): \(bad)/\(actual.count) elements outside atol \(atol) rtol \(rtol); worst [\(worst)] "
                + "\(actual.storage[worst]) vs \(expected.storage[worst]); first: \(firstFew.joined(separator: ", "))",
                file: file, line: line)
    }
}

/// Max |a - e| over all elements.
func maxAbsDifference(_ a: Tensor, _ e: Tensor) -> Float {
    precondition(a.shape == e.shape)
    return zip(a.storage, e.storage).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Cosine similarity of each batch sample of `a` with the same sample of `e`.
func cosinePerSample(_ a: Tensor, _ e: Tensor) -> [Double] {
    precondition(a.shape == e.shape)
    let n = a.sampleCount
    return (0..<a.shape[0]).map { b in
        var dot = 0.0, na = 0.0, ne = 0.0
        for i in (b * n)..<((b + 1) * n) {
            let x = Double(a.storage[i]), y = Double(e.storage[i])
            dot += x * y; na += x * x; ne += y * y
        }
        return dot / (na.squareRoot() * ne.squareRoot() + 1e-30)
    }
}

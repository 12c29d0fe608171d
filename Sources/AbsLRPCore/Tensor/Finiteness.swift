/// A NaN or infinity where only finite numbers make sense: in an input
/// tensor, a data set, a configuration's statistics. `subject` names what
/// holds it (the tensor and file, the row, the field), `index` where.
public struct NonFiniteValueError: Error, CustomStringConvertible, Equatable {
    public var subject: String
    /// The multi-index of the first non-finite value (empty for a scalar).
    public var index: [Int]
    public var value: Float

    public init(subject: String, index: [Int], value: Float) {
        self.subject = subject; self.index = index; self.value = value
    }

    public var description: String {
        "\(subject) holds \(value) at index \(index): only finite numbers can be used"
    }
}

extension Tensor {
    /// The multi-index and value of the first NaN or infinity in C order,
    /// or nil when every value is finite.
    public func firstNonFinite() -> (index: [Int], value: Float)? {
        let flat: Int? = storage.withUnsafeBufferPointer { values in
            for i in values.indices where !values[i].isFinite { return i }
            return nil
        }
        guard let flat else { return nil }
        var index = [Int](repeating: 0, count: rank), rest = flat
        for axis in (0..<rank).reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return (index, storage[flat])
    }

    /// Throws ``NonFiniteValueError`` naming `subject` unless every value is finite.
    public func requireFinite(_ subject: @autoclosure () -> String) throws {
        if let (index, value) = firstNonFinite() { throw NonFiniteValueError(subject: subject(), index: index, value: value) }
    }
}

/// `values` (a configuration's `mean`, `std`, ...) must all be finite; the
/// one check of statistics read from files.
/// - Throws: ``NonFiniteValueError`` naming `field` and the position.
public func requireFinite<Value: BinaryFloatingPoint>(_ values: [Value], field: String) throws {
    if let i = values.firstIndex(where: { !$0.isFinite }) {
        throw NonFiniteValueError(subject: field, index: values.count == 1 ? [] : [i], value: Float(values[i]))
    }
}

/// An uninitialised float buffer for the intermediate matrices of one call
/// (im2col columns, gathered rows): allocated without the zeroing pass a
/// Swift array would make, and freed by its owner (`defer { s.free() }`).
struct Scratch {
    let base: UnsafeMutablePointer<Float>

    init(count: Int) { base = .allocate(capacity: max(1, count)) }

    func free() { base.deallocate() }
}

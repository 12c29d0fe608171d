import Foundation

/// oneDNN primitives made once per shape and shared by every thread: the
/// value for a key is made on first use by `make` (nil, remembered, where
/// oneDNN refuses the shape).
final class PrimitiveCache<Shape: Hashable, Primitive: AnyObject> {
    private var primitives: [Shape: Primitive?] = [:]
    private let lock = NSLock()
    private let make: (Shape) -> Primitive?

    init(_ make: @escaping (Shape) -> Primitive?) { self.make = make }

    func primitive(for shape: Shape) -> Primitive? {
        lock.withLock {
            if let known = primitives[shape] { return known }
            let made = make(shape)
            primitives[shape] = made
            return made
        }
    }
}

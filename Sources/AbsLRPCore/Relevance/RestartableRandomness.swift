/// A method whose maps come from a random stream that advances from call to
/// call (``RandomRelevance``).
///
/// Restarting the stream at a key makes the maps that follow depend only on
/// the method's seed and the key, not on the calls made before: GAE restarts
/// every such method at each batch's number, so a batch gets the same maps in
/// one uninterrupted run, in a shard, and after a resume.
public protocol RestartableRandomness: AnyObject {
    /// Starts the stream afresh for `key`: `SplitMix64(seed: SplitMix64(seed: seed &+ key).next())`.
    func restartRandomness(at key: UInt64)
}

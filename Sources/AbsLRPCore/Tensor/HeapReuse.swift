import Foundation

/// Makes glibc's allocator keep freed tensor buffers for the next ones.
///
/// By default glibc serves blocks above a moving threshold (128 KiB at
/// first) with fresh `mmap`s and returns freed memory at the top of the heap
/// to the system once more than twice that threshold is free. A forward pass
/// allocates and frees megabytes per layer (ViT-B at batch 4: 2.4 MB per
/// token tensor, 7.5 MB of attention weights, 9.7 MB of MLP activations), so
/// each layer's output was page-faulted and zeroed by the kernel anew:
/// about 120 000 page faults per ViT-B forward at batch 4. With blocks up to
/// `mmapThreshold` taken from the heap and freed memory kept (up to
/// `trimThreshold`), later layers and later passes reuse the pages. All
/// threads share one arena (`arenaLimit`): the tape is allocated by the
/// forward's thread and freed while the two relevance passes run on others
/// (`Tape.releaseRecords`), and only a shared arena lets those passes take
/// the freed pages instead of growing their own (the allocations are few and
/// large, so the arena's lock is not contended).
///
/// Applied once, when the first classifier is built, unless the user chose
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
/// set); a no-op on C libraries without glibc's `mallopt` (looked up at
/// run time: `malloc.h` is not part of Swift's Glibc module).
enum HeapReuse {
    /// glibc's largest allowed mmap threshold on 64-bit systems (32 MiB).
    static let mmapThreshold: Int32 = 32 << 20
    /// Free memory kept at the heap's top before it is returned (1 GiB).
    static let trimThreshold: Int32 = 1 << 30
    /// Arenas for all threads together.
    static let arenaLimit: Int32 = 1

    /// glibc's `mallopt` parameters (`malloc.h`).
    private static let trimThresholdParameter: Int32 = -1, mmapThresholdParameter: Int32 = -3,
                       arenaMaxParameter: Int32 = -8

    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32

    /// Whether the three settings took effect.
    static let applied: Bool = {
        let environment = ProcessInfo.processInfo.environment
        guard ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES"].allSatisfy({ environment[$0] == nil }),
              let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "mallopt") else { return false }
        let mallopt = unsafeBitCast(pointer, to: Mallopt.self)
        return mallopt(arenaMaxParameter, arenaLimit) == 1 && mallopt(mmapThresholdParameter, mmapThreshold) == 1
            && mallopt(trimThresholdParameter, trimThreshold) == 1
    }()
}

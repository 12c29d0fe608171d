/// The set of indices `torch.topk(values, k, largest=...)` returns on the
/// CPU, including which of several equal values it picks.
///
/// GAE's masking only uses the *set* of the `k` selected entries, and ties
/// are common there: masked entries all have relevance exactly 0, and from
/// the middle masking steps on `k` reaches into them. torch's CPU kernel
/// (`topk_impl_loop`) fills a vector of (value, index) pairs in index order
/// and, when `k * 64 > n`, runs `std::nth_element(first, first + k - 1, last)`
/// (otherwise `std::partial_sort`, whose selected set is that of
/// `std::__heap_select`) with a comparator on the value alone (`>` for
/// largest, `<` for smallest; NaN counts as the largest value). The selected
/// set is the first `k` pairs afterwards. This file runs the same algorithms
/// as GNU libstdc++ (introselect: median-of-three pivot to the front,
/// unguarded Hoare partition, depth limit `2 * floor(log2 n)` then heap
/// select, insertion sort below 4 elements), so ties fall the same way as
/// in the reference's PyTorch build for Linux.
enum TopKSelection {
    private struct Entry {
        var value: Float
        var index: Int
    }

    /// Indices of the `k` largest (`largest`) or smallest values, as a set
    /// in no particular order; `0 <= k <= values.count`.
    static func select(_ values: UnsafeBufferPointer<Float>, k: Int, largest: Bool) -> [Int] {
        precondition(k >= 0 && k <= values.count, "k = \(k) for \(values.count) values")
        guard k > 0 else { return [] }
        var entries = values.enumerated().map { Entry(value: $0.element, index: $0.offset) }
        let before: (Entry, Entry) -> Bool = largest
            ? { ($0.value.isNaN && !$1.value.isNaN) || $0.value > $1.value }
            : { (!$0.value.isNaN && $1.value.isNaN) || $0.value < $1.value }
        entries.withUnsafeMutableBufferPointer { e in
            if k * 64 <= e.count {
                heapSelect(e, 0, k, e.count, before)
            } else {
                nthElement(e, nth: k - 1, before)
            }
        }
        return entries[0..<k].map(\.index)
    }

    private typealias Buffer = UnsafeMutableBufferPointer<Entry>
    private typealias Comparison = (Entry, Entry) -> Bool

    /// `std::nth_element(first, first + nth, last, comp)`.
    private static func nthElement(_ e: Buffer, nth: Int, _ comp: Comparison) {
        guard e.count > 0, nth < e.count else { return }
        var first = 0, last = e.count
        var depthLimit = 2 * (Int.bitWidth - 1 - e.count.leadingZeroBitCount)
        while last - first > 3 {
            if depthLimit == 0 {
                heapSelect(e, first, nth + 1, last, comp)
                e.swapAt(first, nth)
                return
            }
            depthLimit -= 1
            let cut = unguardedPartitionPivot(e, first, last, comp)
            if cut <= nth { first = cut } else { last = cut }
        }
        insertionSort(e, first, last, comp)
    }

    /// `std::__unguarded_partition_pivot`: median of (first+1, mid, last-1) to
    /// `first`, then partition `first+1 ..< last` around it.
    private static func unguardedPartitionPivot(_ e: Buffer, _ first: Int, _ last: Int, _ comp: Comparison) -> Int {
        let mid = first + (last - first) / 2
        moveMedianToFirst(e, result: first, first + 1, mid, last - 1, comp)
        var lo = first + 1, hi = last
        while true {
            while comp(e[lo], e[first]) { lo += 1 }
            hi -= 1
            while comp(e[first], e[hi]) { hi -= 1 }
            if !(lo < hi) { return lo }
            e.swapAt(lo, hi)
            lo += 1
        }
    }

    /// `std::__move_median_to_first`.
    private static func moveMedianToFirst(_ e: Buffer, result: Int, _ a: Int, _ b: Int, _ c: Int, _ comp: Comparison) {
        let median: Int
        if comp(e[a], e[b]) {
            median = comp(e[b], e[c]) ? b : (comp(e[a], e[c]) ? c : a)
        } else {
            median = comp(e[a], e[c]) ? a : (comp(e[b], e[c]) ? c : b)
        }
        e.swapAt(result, median)
    }

    /// `std::__insertion_sort` of `first ..< last`.
    private static func insertionSort(_ e: Buffer, _ first: Int, _ last: Int, _ comp: Comparison) {
        guard first < last else { return }
        var i = first + 1
        while i < last {
            let value = e[i]
            if comp(value, e[first]) {
                var j = i
                while j > first { e[j] = e[j - 1]; j -= 1 }
                e[first] = value
            } else {
                var hole = i
                while comp(value, e[hole - 1]) { e[hole] = e[hole - 1]; hole -= 1 }
                e[hole] = value
            }
            i += 1
        }
    }

    /// `std::__heap_select(first, middle, last)`: a max-heap (by `comp`) of
    /// `first ..< middle`, then every later element that compares before the
    /// heap's top replaces it.
    private static func heapSelect(_ e: Buffer, _ first: Int, _ middle: Int, _ last: Int, _ comp: Comparison) {
        let length = middle - first
        if length >= 2 {
            var parent = (length - 2) / 2
            while true {
                adjustHeap(e, first, parent, length, e[first + parent], comp)
                if parent == 0 { break }
                parent -= 1
            }
        }
        for i in middle..<last where comp(e[i], e[first]) {
            let value = e[i]
            e[i] = e[first]
            adjustHeap(e, first, 0, length, value, comp)
        }
    }

    /// `std::__adjust_heap` followed by `std::__push_heap`, over the heap at `base`.
    private static func adjustHeap(_ e: Buffer, _ base: Int, _ holeIndex: Int, _ length: Int, _ value: Entry,
                                   _ comp: Comparison) {
        var hole = holeIndex
        let top = holeIndex
        var child = holeIndex
        while child < (length - 1) / 2 {
            child = 2 * (child + 1)
            if comp(e[base + child], e[base + child - 1]) { child -= 1 }
            e[base + hole] = e[base + child]
            hole = child
        }
        if length & 1 == 0 && child == (length - 2) / 2 {
            child = 2 * (child + 1)
            e[base + hole] = e[base + child - 1]
            hole = child - 1
        }
        var parent = (hole - 1) / 2
        while hole > top && comp(e[base + parent], value) {
            e[base + hole] = e[base + parent]
            hole = parent
            parent = (hole - 1) / 2
        }
        e[base + hole] = value
    }
}

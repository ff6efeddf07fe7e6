/// Items waiting for a due time, earliest first (a binary min-heap): each pop costs log n, so
/// rings with tens of thousands of waiting items can look every few milliseconds.
struct DueQueue<Item> {
    private var heap: [(due: Int64, item: Item)] = []

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextDue: Int64? { heap.first?.due }

    mutating func push(_ item: Item, due: Int64) {
        heap.append((due, item))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest item if it is due by `now`.
    mutating func popDue(now: Int64) -> Item? {
        guard let first = heap.first, first.due <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].due < heap[smallest].due { smallest = left }
                if right < heap.count && heap[right].due < heap[smallest].due { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.item
    }

    mutating func removeAll() {
        heap.removeAll()
    }
}

/// Connections waiting to reconnect, earliest first.
typealias ReconnectQueue = DueQueue<Int>

/// Reconnect delays: 250 ms doubling to 10 s, with jitter so a restarted gateway is not hit at once.
public struct ReconnectBackoff: Sendable {
    public var initialMilliseconds: Int64 = 250
    public var maximumMilliseconds: Int64 = 10_000

    public init() {}

    /// The delay before attempt `failures + 1`, between half and all of the nominal delay.
    public func delayMilliseconds<Generator: RandomNumberGenerator>(afterFailures failures: Int, using generator: inout Generator) -> Int64 {
        let shift = min(max(failures, 0), 16)
        let nominal = min(maximumMilliseconds, initialMilliseconds << Int64(shift))
        return Int64.random(in: (nominal / 2)...nominal, using: &generator)
    }
}

// Connections due for a look at whole seconds, so the once-a-second trust check visits only
// those whose deadline came (a ping, a token warning, an expiry) instead of every connection:
// at a million connections a full sweep cost more CPU than the messages did while they were idle.
// A slot is on the wheel at most once; moving or removing it is O(1) (a doubly linked list per
// second). Pure: the caller says what time it is.

struct DeadlineWheel {
    /// Seconds ahead a slot can be put; a later deadline is put at the horizon and looked at again.
    static let horizon: Int64 = 64

    /// Per slot, the next and previous slot (plus one) in its second's list; 0 ends the list.
    private var next: [UInt32]
    private var previous: [UInt32]
    /// Per slot, its bucket plus one; 0 when it is not on the wheel.
    private var bucketOf: [UInt8]
    /// Per bucket (second modulo the horizon), its first slot plus one.
    private var heads: [UInt32]
    /// The last second whose slots were taken.
    private(set) var current: Int64
    private(set) var scheduledCount = 0

    init(slots: Int, now second: Int64) {
        next = Array(repeating: 0, count: slots)
        previous = Array(repeating: 0, count: slots)
        bucketOf = Array(repeating: 0, count: slots)
        heads = Array(repeating: 0, count: Int(Self.horizon))
        current = second
    }

    func isScheduled(_ slot: UInt32) -> Bool {
        bucketOf[Int(slot)] != 0
    }

    /// Puts `slot` at `second` (or moves it there), no sooner than the next second and no later
    /// than the horizon.
    mutating func schedule(_ slot: UInt32, at second: Int64) {
        unschedule(slot)
        let due = min(max(second, current + 1), current + Self.horizon)
        let bucket = Int(due & (Self.horizon - 1))
        let index = Int(slot)
        let first = heads[bucket]
        next[index] = first
        previous[index] = 0
        if first != 0 { previous[Int(first - 1)] = slot + 1 }
        heads[bucket] = slot + 1
        bucketOf[index] = UInt8(bucket + 1)
        scheduledCount += 1
    }

    mutating func unschedule(_ slot: UInt32) {
        let index = Int(slot)
        guard bucketOf[index] != 0 else { return }
        let bucket = Int(bucketOf[index] - 1)
        let after = next[index], before = previous[index]
        if before != 0 { next[Int(before - 1)] = after } else { heads[bucket] = after }
        if after != 0 { previous[Int(after - 1)] = before }
        next[index] = 0
        previous[index] = 0
        bucketOf[index] = 0
        scheduledCount -= 1
    }

    /// Takes off the wheel every slot due at or before `second` and appends it to `due`.
    mutating func takeDue(through second: Int64, into due: inout [UInt32]) {
        guard second > current else { return }
        // Past the horizon every bucket is due once; each holds one second's slots.
        let last = min(second, current + Self.horizon)
        var passing = current + 1
        while passing <= last {
            let bucket = Int(passing & (Self.horizon - 1))
            var cursor = heads[bucket]
            heads[bucket] = 0
            while cursor != 0 {
                let index = Int(cursor - 1)
                due.append(cursor - 1)
                cursor = next[index]
                next[index] = 0
                previous[index] = 0
                bucketOf[index] = 0
                scheduledCount -= 1
            }
            passing += 1
        }
        current = second
    }
}

// The recent messages of one subject, oldest first, for clients that reconnect with `since`:
// bounded by count and age; what falls out is remembered as a seq, so a client that missed
// it gets an explicit gap instead of silence. Generic over the frame so tests use integers.

struct SubjectHistory<Frame> {
    struct Entry {
        let seq: Int64
        let frame: Frame
        /// Monotonic nanoseconds when recorded.
        let at: Int64
    }

    /// What a client that last saw `since` is owed.
    struct Replay {
        /// Seqs that may have been missed and are no longer held.
        var gap: ClosedRange<Int64>?
        var frames: [Frame]
    }

    private(set) var entries: [Entry] = []
    private var head = 0
    /// Highest seq no longer held: evicted, or before the first message this gateway saw.
    private var droppedThrough: Int64?

    var count: Int { entries.count - head }

    /// Appends a message; returns the frames that fell out (to release).
    mutating func append(seq: Int64, frame: Frame, at now: Int64, limit: Int, maxAge: Int64) -> [Frame] {
        if droppedThrough == nil { droppedThrough = seq - 1 }
        entries.append(Entry(seq: seq, frame: frame, at: now))
        var evicted = evict(olderThan: now - maxAge)
        while count > limit { evicted.append(dropOldest()) }
        compact()
        return evicted
    }

    /// Drops the oldest message (the global history budget is spent); nil when none is held.
    mutating func dropOldestIfAny() -> Frame? {
        count > 0 ? dropOldest() : nil
    }

    /// Notes a message that was not kept at all.
    mutating func skip(seq: Int64) {
        droppedThrough = max(droppedThrough ?? seq, seq)
    }

    mutating func evict(olderThan cutoff: Int64) -> [Frame] {
        var evicted: [Frame] = []
        while count > 0 && entries[head].at < cutoff { evicted.append(dropOldest()) }
        return evicted
    }

    /// The missed messages after `since`, in order, and the gap before them if some are gone.
    func replay(after since: Int64) -> Replay {
        var replay = Replay(gap: nil, frames: [])
        if let droppedThrough, since < droppedThrough {
            replay.gap = (since + 1)...droppedThrough
        }
        for index in head..<entries.count where entries[index].seq > since {
            replay.frames.append(entries[index].frame)
        }
        return replay
    }

    private mutating func dropOldest() -> Frame {
        let entry = entries[head]
        head += 1
        droppedThrough = max(droppedThrough ?? entry.seq, entry.seq)
        return entry.frame
    }

    private mutating func compact() {
        if head > 64 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}

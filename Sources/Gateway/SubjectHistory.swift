// The recent messages of one subject, oldest first: the log that lagging connections and
// clients resuming with `since` read from, each at its own position (the subject's version of
// the last message it was given), as a Kafka consumer reads at its offset. Bounded by count
// and age; what falls out is remembered as a seq, so a client that missed it gets an explicit
// gap instead of silence. Generic over the frame so tests use integers.

struct SubjectHistory<Frame> {
    struct Entry {
        let seq: Int64
        /// The subject's version of this message: consecutive for consecutive messages.
        let version: UInt64
        let frame: Frame
        /// The Kafka partition of a subject without a key (its seqs are one sequence per
        /// partition), else -1: not optional, so it fits beside a frame handle without growing the entry.
        let partition: Int32
        let bytes: Int
        /// Bytes of every message appended so far, this one included (lag in bytes is a difference).
        let endOffset: Int
        /// Monotonic nanoseconds when recorded.
        let at: Int64
    }

    /// What a reader at a position gets next.
    enum Read {
        /// Nothing after the position: the reader has every message.
        case caughtUp
        /// The message after the position is no longer held (aged out, evicted or never kept).
        case outOfHistory
        /// The next messages in order; `through` is the reader's new position.
        case frames([Frame], through: UInt64, caughtUp: Bool)
    }

    /// How far behind a reader is: the bytes it has not been given and when the oldest of them
    /// was recorded (nil when it has everything).
    struct Lag: Equatable {
        var bytes: Int
        var oldestAt: Int64?
    }

    private(set) var entries: [Entry] = []
    private var head = 0
    private var bytesAppended = 0
    /// Highest seq no longer held: evicted, or before the first message this gateway saw.
    private var droppedThrough: Int64?
    /// Highest seq this history held (or was given) and let go: what it lost, not what it never saw.
    private(set) var evictedThrough: Int64?
    /// The same per partition, for messages appended with one (a subject without a key).
    private(set) var evictedThroughByPartition: [Int32: Int64] = [:]

    var count: Int { entries.count - head }

    /// The seq and time of the oldest message held.
    var oldest: (seq: Int64, at: Int64)? { count > 0 ? (entries[head].seq, entries[head].at) : nil }

    /// Appends a message; returns the frames that fell out (to release).
    mutating func append(
        seq: Int64, partition: Int32? = nil, version: UInt64, frame: Frame, bytes: Int, at now: Int64, limit: Int, maxAge: Int64
    ) -> [Frame] {
        if droppedThrough == nil { droppedThrough = seq - 1 }
        bytesAppended += bytes
        entries.append(Entry(seq: seq, version: version, frame: frame, partition: partition ?? -1, bytes: bytes, endOffset: bytesAppended, at: now))
        var evicted = evict(olderThan: now - maxAge)
        while count > limit { evicted.append(dropOldest()) }
        compact()
        return evicted
    }

    /// Drops the oldest message (the global history budget is spent); nil when none is held.
    mutating func dropOldestIfAny() -> Frame? {
        guard count > 0 else { return nil }
        let frame = dropOldest()
        compact()
        return frame
    }

    /// Notes a message that was not kept at all.
    mutating func skip(seq: Int64, partition: Int32? = nil) {
        droppedThrough = max(droppedThrough ?? seq, seq)
        evictedThrough = max(evictedThrough ?? seq, seq)
        if let partition { evictedThroughByPartition[partition] = max(evictedThroughByPartition[partition] ?? seq, seq) }
    }

    mutating func evict(olderThan cutoff: Int64) -> [Frame] {
        var evicted: [Frame] = []
        while count > 0 && entries[head].at < cutoff { evicted.append(dropOldest()) }
        compact()
        return evicted
    }

    /// Where a client that last saw `since` starts reading, and the gap before it if messages
    /// after `since` are gone. `current` is the subject's latest version.
    func resumePoint(afterSeq since: Int64, current: UInt64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        position(afterSeq: since, lostThrough: droppedThrough, current: current)
    }

    /// Where a reader that already has every message through `seq` (read from Kafka) goes on,
    /// and the gap if this history let go of messages after `seq`.
    func continuation(afterSeq seq: Int64, current: UInt64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        position(afterSeq: seq, lostThrough: evictedThrough, current: current)
    }

    /// Where a cursor reader goes on that already has, per partition, every message through its
    /// floor: the oldest message held (the floors pass over what it has), and per partition the
    /// offsets after its floor that this history let go of, as gaps.
    func cursorContinuation(floors: [Int32: Int64], current: UInt64) -> (gaps: [Int32: ClosedRange<Int64>], after: UInt64) {
        var gaps: [Int32: ClosedRange<Int64>] = [:]
        for (partition, floor) in floors {
            if let lost = evictedThroughByPartition[partition], floor < lost { gaps[partition] = (floor + 1)...lost }
        }
        return (gaps, count > 0 ? entries[head].version - 1 : current)
    }

    /// The position right before the first message after `seq`, and the seqs after `seq` up to
    /// `lostThrough` as a gap.
    private func position(afterSeq seq: Int64, lostThrough: Int64?, current: UInt64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        var gap: ClosedRange<Int64>?
        if let lostThrough, seq < lostThrough {
            gap = (seq + 1)...lostThrough
        }
        guard let first = (head..<entries.count).first(where: { entries[$0].seq > seq }) else {
            return (gap, current)
        }
        return (gap, entries[first].version - 1)
    }

    /// Up to `maxFrames` messages after position `after` (and at least one, whatever `maxBytes`);
    /// messages with a seq up to `skipThroughSeq`, or up to their partition's `cursorFloors`, are
    /// passed over (the reader has them already).
    func read(
        after: UInt64, current: UInt64, maxFrames: Int, maxBytes: Int, skipThroughSeq: Int64? = nil,
        cursorFloors: [Int32: Int64]? = nil
    ) -> Read {
        if after >= current { return .caughtUp }
        guard let start = firstIndex(after: after) else { return .outOfHistory }
        var frames: [Frame] = []
        var bytes = 0
        var through = after
        var index = start
        while index < entries.count && frames.count < maxFrames && (frames.isEmpty || bytes + entries[index].bytes <= maxBytes) {
            // A message that was skipped leaves a hole: stop before it; the next read reports it.
            guard entries[index].version == through + 1 else { break }
            if skipThroughSeq.map({ entries[index].seq > $0 }) ?? true, !Self.has(entries[index], cursorFloors) {
                frames.append(entries[index].frame)
                bytes += entries[index].bytes
            }
            through = entries[index].version
            index += 1
        }
        return .frames(frames, through: through, caughtUp: through == current)
    }

    /// Whether a cursor reader has `entry` already: its offset is at or below its partition's floor.
    private static func has(_ entry: Entry, _ floors: [Int32: Int64]?) -> Bool {
        guard let floors, entry.partition >= 0, let floor = floors[entry.partition] else { return false }
        return entry.seq <= floor
    }

    /// The seq of the message of version `version`, when it is held.
    func seq(atVersion version: UInt64) -> Int64? {
        guard version > 0, let index = firstIndex(after: version - 1) else { return nil }
        return entries[index].seq
    }

    /// How far a reader at `after` is behind; nil when the next message it needs is gone.
    func lag(after: UInt64, current: UInt64) -> Lag? {
        if after >= current { return Lag(bytes: 0, oldestAt: nil) }
        guard let start = firstIndex(after: after) else { return nil }
        let entry = entries[start]
        return Lag(bytes: bytesAppended - (entry.endOffset - entry.bytes), oldestAt: entry.at)
    }

    /// Index of the message right after `after`, when it is still held.
    private func firstIndex(after: UInt64) -> Int? {
        var low = head
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].version <= after { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, entries[low].version == after + 1 else { return nil }
        return low
    }

    private mutating func dropOldest() -> Frame {
        let entry = entries[head]
        head += 1
        droppedThrough = max(droppedThrough ?? entry.seq, entry.seq)
        evictedThrough = max(evictedThrough ?? entry.seq, entry.seq)
        if entry.partition >= 0 {
            evictedThroughByPartition[entry.partition] = max(evictedThroughByPartition[entry.partition] ?? entry.seq, entry.seq)
        }
        return entry.frame
    }

    /// Lets go of the entries dropped from the front, and of the storage they took: most subjects
    /// hold nothing most of the time (the global budget took it), and a dead prefix or a capacity
    /// left from a burst, kept per subject, grew the gateway by kilobytes per subject.
    private mutating func compact() {
        if head == entries.count {
            if entries.capacity > 0 { entries = [] }
            head = 0
        } else if head >= Self.compactionSlack && head * 2 > entries.count {
            // A fresh array of the live entries: removeFirst would keep the old capacity.
            entries = Array(entries[head...])
            head = 0
        }
    }

    /// Dropped entries kept at most before they are let go of while others are still held
    /// (copying the live ones then costs no more than the drops that made room).
    static var compactionSlack: Int { 16 }

    /// Entries stored: those held and the dropped ones not yet let go of.
    var storedEntries: Int { entries.count }
}

extension SubjectHistory.Read: Equatable where Frame: Equatable {}

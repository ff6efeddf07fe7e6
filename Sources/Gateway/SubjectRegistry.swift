// Subjects known to this gateway, shared by every ring: names interned to small ids, the
// retained (latest) message of each, and a version that orders deliveries per subject.
import Synchronization
import UringIO

public struct SubjectID: Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}

final class SubjectRegistry: @unchecked Sendable {
    private struct Entry {
        let name: String
        var version: UInt64 = 0
        var retained: FrameHandle?
        /// Local routing only: the next seq for messages published without Kafka.
        var nextLocalSeq: Int64 = 0
        var history = SubjectHistory<FrameHandle>()
        /// Rings that have had a subscriber of this subject (bit ring % 64; never cleared, so a
        /// ring may get a message nobody there wants, but never misses one it does).
        var rings: UInt64 = 0
        /// The Kafka partition its records came from (the last one seen), when any came.
        var partition: Int32?
    }

    /// The rings a message must be posted to, as a bit per ring index modulo 64.
    struct RingMask: Equatable {
        let bits: UInt64

        func includes(ring: Int) -> Bool { bits & Self.bit(ring: ring) != 0 }

        static func bit(ring: Int) -> UInt64 { 1 << UInt64(ring % 64) }
    }

    private struct State {
        var ids: [String: UInt32] = [:]
        var entries: [Entry] = []
        /// Frames held in all histories together, at most `limits.frames`.
        var historyFrames = 0
    }

    private let state = Mutex(State())
    private let frames: FramePool
    private let limits: HistoryLimits
    private let maxAge: Int64
    private let epoch = ContinuousClock.now

    init(frames: FramePool, history: HistoryLimits = HistoryLimits()) {
        self.frames = frames
        self.limits = history
        self.maxAge = TrustPolicy.nanoseconds(history.age)
    }

    deinit {
        state.withLock { state in
            for var entry in state.entries {
                if let retained = entry.retained { frames.release(retained) }
                while let frame = entry.history.dropOldestIfAny() { frames.release(frame) }
            }
        }
    }

    func id(for name: String) -> SubjectID {
        state.withLock { state in
            if let id = state.ids[name] { return SubjectID(rawValue: id) }
            let id = UInt32(state.entries.count)
            state.entries.append(Entry(name: name))
            state.ids[name] = id
            return SubjectID(rawValue: id)
        }
    }

    func existingID(for name: String) -> SubjectID? {
        state.withLock { $0.ids[name].map(SubjectID.init(rawValue:)) }
    }

    func name(of subject: SubjectID) -> String {
        state.withLock { $0.entries[Int(subject.rawValue)].name }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Takes the next local seq of a subject (used when no Kafka is configured).
    func nextLocalSeq(_ subject: SubjectID) -> Int64 {
        state.withLock { state in
            let seq = state.entries[Int(subject.rawValue)].nextLocalSeq
            state.entries[Int(subject.rawValue)].nextLocalSeq += 1
            return seq
        }
    }

    /// Notes that `ring` has a subscriber of `subject`; call it before reading the retained message
    /// or the history for that subscriber: under the same lock as `recordMessage`, so a message is
    /// either posted to the ring or already retained when the subscriber looks.
    func subscriberJoined(_ subject: SubjectID, ring: Int) {
        state.withLock { $0.entries[Int(subject.rawValue)].rings |= RingMask.bit(ring: ring) }
    }

    /// Records a new message: its retained form replaces the old one (taking over the caller's
    /// reference), its live form joins the history (with a reference of its own) and the
    /// subject's version advances. Returns the new version and the rings to post the message to
    /// (a message for one player goes to one ring, not to all 51 that hold a million).
    func recordMessage(
        _ subject: SubjectID, seq: Int64, partition: Int32?, live: FrameHandle, retained: FrameHandle
    ) -> (version: UInt64, rings: RingMask) {
        let now = self.now
        if limits.messages > 0 { frames.retain(live) }
        let (version, rings, released) = state.withLock { state -> (UInt64, RingMask, [FrameHandle]) in
            let index = Int(subject.rawValue)
            var released: [FrameHandle] = []
            if let previous = state.entries[index].retained { released.append(previous) }
            if let partition { state.entries[index].partition = partition }
            state.entries[index].retained = retained
            state.entries[index].version += 1
            if limits.messages > 0 {
                // The global budget is spent: this subject gives up its own oldest, or skips this one.
                if state.historyFrames >= limits.frames, let oldest = state.entries[index].history.dropOldestIfAny() {
                    released.append(oldest)
                    state.historyFrames -= 1
                }
                if state.historyFrames < limits.frames {
                    let evicted = state.entries[index].history.append(
                        seq: seq, version: state.entries[index].version, frame: live, bytes: frames.bytes(live).count,
                        at: now, limit: limits.messages, maxAge: maxAge)
                    state.historyFrames += 1 - evicted.count
                    released += evicted
                } else {
                    state.entries[index].history.skip(seq: seq)
                    released.append(live)
                }
            }
            return (state.entries[index].version, RingMask(bits: state.entries[index].rings), released)
        }
        for frame in released { frames.release(frame) }
        return (version, rings)
    }

    /// Where a subscriber that last saw `since` starts reading the history (see `read`), and
    /// the seqs it missed that are gone.
    func resumePoint(_ subject: SubjectID, afterSeq since: Int64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        withFreshHistory(subject) { entry in
            entry.history.resumePoint(afterSeq: since, current: entry.version)
        }
    }

    /// The next messages of `subject` for a reader at position `after` (a version); every frame
    /// carries a reference for the caller to release.
    func read(_ subject: SubjectID, after: UInt64, maxFrames: Int, maxBytes: Int) -> SubjectHistory<FrameHandle>.Read {
        withFreshHistory(subject) { entry in
            let read = entry.history.read(after: after, current: entry.version, maxFrames: maxFrames, maxBytes: maxBytes)
            if case .frames(let held, _, _) = read {
                for frame in held { frames.retain(frame) }
            }
            return read
        }
    }

    /// How far behind a reader at `after` is; nil when what it needs next is gone.
    func lag(_ subject: SubjectID, after: UInt64) -> SubjectHistory<FrameHandle>.Lag? {
        withFreshHistory(subject) { entry in
            entry.history.lag(after: after, current: entry.version)
        }
    }

    /// What memory holds of a subject for a client resuming from Kafka: the partition its records
    /// came from (nil: none seen) and the highest seq its history let go of.
    func memoryCoverage(_ subject: SubjectID) -> (partition: Int32?, evictedThrough: Int64?) {
        withFreshHistory(subject) { entry in (entry.partition, entry.history.evictedThrough) }
    }

    /// Where a reader that read `subject` from Kafka through `seq` goes on in the history, and
    /// the gap for what the history let go of after `seq`.
    func continuation(_ subject: SubjectID, afterSeq seq: Int64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        withFreshHistory(subject) { entry in
            entry.history.continuation(afterSeq: seq, current: entry.version)
        }
    }

    /// Monotonic nanoseconds since this registry began, the clock of `Lag.oldestAt`.
    var now: Int64 { TrustPolicy.nanoseconds(.now - epoch) }

    /// Runs `body` on a subject under the lock, after dropping what has aged out of its history.
    private func withFreshHistory<Result>(_ subject: SubjectID, _ body: (inout Entry) -> Result) -> Result {
        let cutoff = now - maxAge
        let (result, released) = state.withLock { state in
            let index = Int(subject.rawValue)
            let evicted = state.entries[index].history.evict(olderThan: cutoff)
            state.historyFrames -= evicted.count
            return (body(&state.entries[index]), evicted)
        }
        for frame in released { frames.release(frame) }
        return result
    }

    /// The retained message and its version, with a reference for the caller to release.
    func retained(_ subject: SubjectID) -> (frame: FrameHandle, version: UInt64)? {
        state.withLock { state in
            let entry = state.entries[Int(subject.rawValue)]
            guard let frame = entry.retained else { return nil }
            frames.retain(frame)
            return (frame, entry.version)
        }
    }
}

/// How much each subject's history holds for reconnecting clients.
public struct HistoryLimits: Sendable {
    /// Messages per subject; 0 keeps no history (a `since` then only ever gets a gap, and a
    /// connection that falls behind is closed). Lagging readers and replays stream from here,
    /// so it bounds how large a burst a reader may catch up on.
    public var messages: Int = 100_000
    public var age: Duration = .seconds(180)
    /// Frames held by all histories together, so the frame pool cannot run dry.
    public var frames: Int = 131_072

    public init() {}
}

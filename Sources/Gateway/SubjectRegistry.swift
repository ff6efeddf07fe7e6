// Subjects known to this gateway, shared by every ring: names interned to small ids, the
// retained (latest) message of each, its history, and a version that orders deliveries per
// subject. A subject nobody here subscribes to is forgotten once it has been quiet for the
// history's age, or sooner when too many such subjects are held: every gateway of a cluster
// sees every player's records, and a frame kept per departed player would run the frame pool dry.
import KafkaClient
import StadiumProtocol
import Synchronization
import UringIO

public struct SubjectID: Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }
}

final class SubjectRegistry: @unchecked Sendable {
    /// 64 bytes: a million players bring two million subjects of their own, most of which never
    /// get a message while connected, so what only a message needs is allocated with the first.
    private struct Entry {
        let name: String
        var version: UInt64 = 0
        /// Rings that have had a subscriber of this subject (bit ring % 64; never cleared, so a
        /// ring may get a message nobody there wants, but never misses one it does).
        var rings: UInt64 = 0
        /// When a message or a subscriber last came or went (monotonic nanoseconds).
        var touchedAt: Int64
        /// Nil until its first message.
        var recorded: Recorded?
        /// Subscriptions to it on all rings.
        var subscribers: UInt32 = 0
        var retained: FrameHandle?
        /// Whether it waits in the idle queue.
        var queuedAsIdle = false

        init(name: String, touchedAt: Int64) {
            self.name = name
            self.touchedAt = touchedAt
        }

        /// Its history; empty before its first message.
        var history: SubjectHistory<FrameHandle> { recorded?.history ?? SubjectHistory() }
    }

    /// Bytes of one subject's place in the slab (its stride), for the tests that keep it at 64.
    static var entryStride: Int { MemoryLayout<Entry?>.stride }

    /// What a subject keeps once it has had a message; touched only under the registry's lock.
    private final class Recorded {
        var history = SubjectHistory<FrameHandle>()
        /// The Kafka partition its records came from (the last one seen), when any came.
        var partition: Int32?
        /// The seq of its newest message.
        var lastSeq: Int64
        /// A subject without a key: the offset of its newest message per partition.
        var partitionSeqs: [Int32: Int64] = [:]

        init(lastSeq: Int64) {
            self.lastSeq = lastSeq
        }
    }

    /// The rings a message must be posted to, as a bit per ring index modulo 64.
    struct RingMask: Equatable {
        let bits: UInt64

        func includes(ring: Int) -> Bool { bits & Self.bit(ring: ring) != 0 }

        static func bit(ring: Int) -> UInt64 { 1 << UInt64(ring % 64) }
    }

    private struct State {
        var ids = SubjectNameIndex()
        /// By id; ids are never reused, so a message still on its way to a forgotten subject
        /// can never reach the subscribers of a new one (the slab reuses places, not ids).
        var entries = SerialSlab<Entry>()
        var nextID: UInt32 = 0
        /// Subjects that may have no subscribers, oldest first (by when they became so), each once.
        var idle: [UInt32] = []
        var idleHead = 0
        /// Subjects that have none: what `maxIdleSubjects` bounds.
        var unsubscribed = 0
        /// Per partition, the newest seq of a subject forgotten here: a client resuming a subject
        /// of that partition from before it must read Kafka, this memory no longer tells.
        var forgottenThrough: [TopicPartition: Int64] = [:]
        /// Frames held in all histories together, at most `limits.frames`.
        var historyFrames = 0
        /// Every message put in a history, oldest first, across subjects: when the budget is spent
        /// the oldest anywhere goes (a quiet subject's old messages before a busy one's new ones),
        /// and what aged out goes without waiting for its subject to be touched. An element whose
        /// message already left its history (by its subject's own limits, or forgotten) is skipped.
        var historyOrder: [(id: UInt32, seq: Int64)] = []
        var historyOrderHead = 0
        /// Local routing only: seqs for messages published without Kafka, one sequence for all
        /// subjects so a forgotten subject never repeats a seq.
        var nextLocalSeq: Int64 = 0
    }

    private let state = Mutex(State())
    private let frames: FramePool
    private let limits: HistoryLimits
    private let maxAge: Int64
    /// Subjects without subscribers held at most (their retained message and history).
    let maxIdleSubjects: Int
    private let epoch = ContinuousClock.now

    init(frames: FramePool, history: HistoryLimits = HistoryLimits(), maxIdleSubjects: Int = GatewayConfiguration.defaultMaxIdleSubjects) {
        self.frames = frames
        self.limits = history
        self.maxAge = TrustPolicy.nanoseconds(history.age)
        self.maxIdleSubjects = maxIdleSubjects
    }

    deinit {
        state.withLock { state in
            state.entries.forEach { release($0) }
        }
    }

    func existingID(for name: String) -> SubjectID? {
        state.withLock { state in Self.id(of: name, in: state).map(SubjectID.init(rawValue:)) }
    }

    func name(of subject: SubjectID) -> String? {
        state.withLock { $0.entries[subject.rawValue]?.name }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Takes the next local seq (used when no Kafka is configured).
    func nextLocalSeq() -> Int64 {
        state.withLock { state in
            defer { state.nextLocalSeq += 1 }
            return state.nextLocalSeq
        }
    }

    /// A subscription to `name` on `ring`: the subject exists while it has one. Call it before
    /// reading the retained message or the history for that subscriber: under the same lock as
    /// `recordMessage`, so a message is either posted to the ring or already retained when the
    /// subscriber looks.
    func join(_ name: String, ring: Int) -> SubjectID {
        let now = self.now
        let (id, released) = state.withLock { state in
            // Subscribers come and go without messages too: forget as they do.
            let released = forgetIdle(&state, now: now, budget: 2)
            let id = Self.lookUpOrCreate(name, in: &state, now: now)
            if state.entries[id]!.subscribers == 0 { state.unsubscribed -= 1 }
            state.entries[id]!.subscribers += 1
            state.entries[id]!.rings |= RingMask.bit(ring: ring)
            return (SubjectID(rawValue: id), released)
        }
        for frame in released { frames.release(frame) }
        return id
    }

    /// A subscription to `subject` ended (unsubscribed, or its connection closed).
    func leave(_ subject: SubjectID) {
        let now = self.now
        state.withLock { state in
            guard state.entries[subject.rawValue] != nil else { return }
            state.entries[subject.rawValue]!.subscribers -= 1
            state.entries[subject.rawValue]!.touchedAt = now
            if state.entries[subject.rawValue]!.subscribers == 0 {
                state.unsubscribed += 1
                Self.queueAsIdle(subject.rawValue, in: &state)
            }
        }
    }

    private static func id(of name: String, in state: State) -> UInt32? {
        state.ids.id(of: name) { state.entries[$0]?.name }
    }

    private static func lookUpOrCreate(_ name: String, in state: inout State, now: Int64) -> UInt32 {
        if let id = id(of: name, in: state) { return id }
        // Ids are 32 bits: after 4 billion subjects they come round, and one still held is skipped.
        while state.entries[state.nextID] != nil { state.nextID &+= 1 }
        let id = state.nextID
        state.nextID &+= 1
        state.ids.insert(name, id: id)
        state.entries[id] = Entry(name: name, touchedAt: now)
        state.unsubscribed += 1
        queueAsIdle(id, in: &state)
        return id
    }

    private static func queueAsIdle(_ id: UInt32, in state: inout State) {
        guard state.entries[id]?.queuedAsIdle == false else { return }
        state.entries[id]!.queuedAsIdle = true
        state.idle.append(id)
    }

    /// Forgets subjects without subscribers that have been quiet for the history's age, and the
    /// oldest of them past `maxIdleSubjects`; a subject that was touched meanwhile goes to the
    /// back of the queue. A few per call, so no caller waits long. Returns the frames to release.
    private func forgetIdle(_ state: inout State, now: Int64, budget: Int = 8) -> [FrameHandle] {
        var released: [FrameHandle] = []
        var examined = 0
        while examined < budget, state.idleHead < state.idle.count {
            let id = state.idle[state.idleHead]
            guard let (touchedAt, subscribers) = state.entries.update(id, { ($0.touchedAt, $0.subscribers) }) else {
                state.idleHead += 1
                continue
            }
            let quiet = now - touchedAt >= maxAge
            let overBudget = state.unsubscribed > maxIdleSubjects
            guard subscribers > 0 || quiet || overBudget else { break }
            examined += 1
            state.idleHead += 1
            state.entries[id]!.queuedAsIdle = false
            if subscribers > 0 { continue }  // leave() queues it again when the last one goes
            if !quiet && !overBudget {
                Self.queueAsIdle(id, in: &state)
                continue
            }
            let entry = state.entries.remove(id)!
            state.ids.remove(entry.name, id: id)
            state.unsubscribed -= 1
            if let recorded = entry.recorded, let partition = recorded.partition {
                let topic = TopicPartition(topic: SubjectMapping.topicAndKey(for: entry.name).topic, partition: partition)
                state.forgottenThrough[topic] = max(state.forgottenThrough[topic] ?? recorded.lastSeq, recorded.lastSeq)
            }
            state.historyFrames -= entry.history.count
            released += Self.takeFrames(of: entry)
        }
        if state.idleHead > 1024 && state.idleHead * 2 > state.idle.count {
            state.idle.removeFirst(state.idleHead)
            state.idleHead = 0
        }
        return released
    }

    /// Drops messages from the front of the global history order: those aged out, and while the
    /// budget is spent, the oldest of all.
    private func dropOldestHistory(_ state: inout State, now: Int64) -> [FrameHandle] {
        var released: [FrameHandle] = []
        while state.historyOrderHead < state.historyOrder.count {
            let (id, seq) = state.historyOrder[state.historyOrderHead]
            guard let recorded = state.entries[id]?.recorded, let oldest = recorded.history.oldest, oldest.seq == seq else {
                state.historyOrderHead += 1  // it left its history already
                continue
            }
            guard state.historyFrames >= limits.frames || now - oldest.at > maxAge else { break }
            if let frame = recorded.history.dropOldestIfAny() { released.append(frame) }
            state.historyFrames -= 1
            state.historyOrderHead += 1
        }
        if state.historyOrderHead > 1024 && state.historyOrderHead * 2 > state.historyOrder.count {
            state.historyOrder.removeFirst(state.historyOrderHead)
            state.historyOrderHead = 0
        }
        return released
    }

    /// The frames a subject that goes holds, its history emptied.
    private static func takeFrames(of entry: Entry) -> [FrameHandle] {
        var held: [FrameHandle] = entry.retained.map { [$0] } ?? []
        while let frame = entry.recorded?.history.dropOldestIfAny() { held.append(frame) }
        return held
    }

    private func release(_ entry: Entry) {
        for frame in Self.takeFrames(of: entry) { frames.release(frame) }
    }

    /// Records a new message of `name`: its retained form replaces the old one (taking over the
    /// caller's reference), its live form joins the history (with a reference of its own) and
    /// the subject's version advances. Returns the subject, its new version and the rings to
    /// post the message to (a message for one player goes to one ring, not to all 51 that hold
    /// a million).
    /// `keyless`: the subject has no key, so its history and positions are kept per partition.
    func recordMessage(
        _ name: String, seq: Int64, partition: Int32?, keyless: Bool = false,
        live liveFrame: borrowing OwnedFrame, retained retainedFrame: consuming OwnedFrame
    ) -> (subject: SubjectID, version: UInt64, rings: RingMask) {
        // Entries and histories hold raw handles, each owning one reference the registry releases.
        let live = liveFrame.handle
        let retained = retainedFrame.handOver()
        let cursorPartition = keyless ? partition : nil
        let now = self.now
        if limits.messages > 0 { frames.retainForHistory(live) }
        let (subject, version, rings, released) = state.withLock { state -> (UInt32, UInt64, RingMask, [FrameHandle]) in
            var released = forgetIdle(&state, now: now)
            let id = Self.lookUpOrCreate(name, in: &state, now: now)
            let (version, rings, previous, recorded) = state.entries.update(id) { entry in
                let previous = entry.retained
                let recorded = entry.recorded ?? Recorded(lastSeq: seq)
                entry.recorded = recorded
                entry.retained = retained
                entry.version += 1
                entry.touchedAt = now
                return (entry.version, entry.rings, previous, recorded)
            }!
            if let previous { released.append(previous) }
            if let partition { recorded.partition = partition }
            recorded.lastSeq = seq
            if let cursorPartition { recorded.partitionSeqs[cursorPartition] = seq }
            if limits.messages > 0 {
                released += dropOldestHistory(&state, now: now)
                if state.historyFrames < limits.frames {
                    let evicted = recorded.history.append(
                        seq: seq, partition: cursorPartition, version: version, frame: live, bytes: frames.bytes(live).count,
                        at: now, limit: limits.messages, maxAge: maxAge)
                    state.historyFrames += 1 - evicted.count
                    state.historyOrder.append((id, seq))
                    released += evicted
                } else {
                    recorded.history.skip(seq: seq, partition: cursorPartition)
                    frames.releaseFromHistory(live)
                }
            } else {
                // No history kept: every message is gone at once, so a since before it is a gap.
                recorded.history.skip(seq: seq, partition: cursorPartition)
            }
            return (id, version, RingMask(bits: rings), released)
        }
        for frame in released { frames.release(frame) }
        return (SubjectID(rawValue: subject), version, rings)
    }

    /// Where a subscriber that last saw `since` starts reading the history (see `read`), and
    /// the seqs it missed that are gone.
    func resumePoint(_ subject: SubjectID, afterSeq since: Int64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        withFreshHistory(subject, absent: (nil, 0)) { entry in
            entry.history.resumePoint(afterSeq: since, current: entry.version)
        }
    }

    /// The next messages of `subject` for a reader at position `after` (a version); every frame
    /// carries a reference for the caller to release.
    func read(
        _ subject: SubjectID, after: UInt64, maxFrames: Int, maxBytes: Int, skipThroughSeq: Int64? = nil
    ) -> SubjectHistory<FrameHandle>.Read {
        withFreshHistory(subject, absent: .outOfHistory) { entry in
            let read = entry.history.read(
                after: after, current: entry.version, maxFrames: maxFrames, maxBytes: maxBytes, skipThroughSeq: skipThroughSeq)
            if case .frames(let held, _, _) = read {
                for frame in held { frames.retain(frame) }
            }
            return read
        }
    }

    /// How far behind a reader at `after` is; nil when what it needs next is gone.
    func lag(_ subject: SubjectID, after: UInt64) -> SubjectHistory<FrameHandle>.Lag? {
        withFreshHistory(subject, absent: nil) { entry in
            entry.history.lag(after: after, current: entry.version)
        }
    }

    /// What memory holds of a subject for a client resuming from Kafka: the partition its records
    /// came from (nil: none seen) and the highest seq its history let go of.
    func memoryCoverage(_ subject: SubjectID) -> (partition: Int32?, evictedThrough: Int64?) {
        withFreshHistory(subject, absent: (nil, nil)) { entry in (entry.recorded?.partition, entry.history.evictedThrough) }
    }

    /// Where a subject without a key stands on each of its topic's `partitions`: the offset after
    /// which every message of that partition still to come lies (its newest message there, else
    /// the newest of any subject forgotten there, else where the consumer started, minus one),
    /// with the version this holds at. `startOffsets`: where the consumer started each partition.
    func positions(
        _ subject: SubjectID, partitions: Int32, startOffsets: [TopicPartition: Int64]
    ) -> (version: UInt64, positions: [Int32: Int64]) {
        state.withLock { state in
            guard let entry = state.entries[subject.rawValue] else { return (0, [:]) }
            return (entry.version, Self.positions(of: entry, partitions: partitions, state, startOffsets))
        }
    }

    private static func positions(
        of entry: Entry, partitions: Int32, _ state: State, _ startOffsets: [TopicPartition: Int64]
    ) -> [Int32: Int64] {
        let topic = SubjectMapping.topicAndKey(for: entry.name).topic
        var positions: [Int32: Int64] = [:]
        for partition in 0..<max(partitions, 0) {
            let topicPartition = TopicPartition(topic: topic, partition: partition)
            positions[partition] = max(
                entry.recorded?.partitionSeqs[partition] ?? -1, state.forgottenThrough[topicPartition] ?? -1,
                (startOffsets[topicPartition] ?? 0) - 1)
        }
        return positions
    }

    /// For a client resuming a subject without a key with a cursor: its positions (see
    /// `positions`) and, per partition, the newest offset its history let go of.
    func cursorCoverage(
        _ subject: SubjectID, partitions: Int32, startOffsets: [TopicPartition: Int64]
    ) -> (positions: [Int32: Int64], evictedThrough: [Int32: Int64]) {
        let positions = positions(subject, partitions: partitions, startOffsets: startOffsets).positions
        return (positions, withFreshHistory(subject, absent: [:]) { $0.history.evictedThroughByPartition })
    }

    /// Where a cursor reader that has every message through its `floors` goes on in the history,
    /// and per partition the gap for what the history let go of past its floor.
    func cursorContinuation(_ subject: SubjectID, floors: [Int32: Int64]) -> (gaps: [Int32: ClosedRange<Int64>], after: UInt64) {
        withFreshHistory(subject, absent: ([:], 0)) { entry in
            entry.history.cursorContinuation(floors: floors, current: entry.version)
        }
    }

    /// `read` for a cursor reader, which passes over what its floors cover. `settled`: it has read
    /// everything and no message still to come lies at or below a floor, so it may go live.
    func read(
        _ subject: SubjectID, after: UInt64, maxFrames: Int, maxBytes: Int, cursorFloors: [Int32: Int64],
        startOffsets: [TopicPartition: Int64]
    ) -> (read: SubjectHistory<FrameHandle>.Read, settled: Bool) {
        let cutoff = now - maxAge
        let (result, released) = state.withLock { state -> ((SubjectHistory<FrameHandle>.Read, Bool), [FrameHandle]) in
            guard let entry = state.entries[subject.rawValue] else { return ((.outOfHistory, false), []) }
            let evicted = entry.recorded?.history.evict(olderThan: cutoff) ?? []
            state.historyFrames -= evicted.count
            let read = entry.history.read(
                after: after, current: entry.version, maxFrames: maxFrames, maxBytes: maxBytes, cursorFloors: cursorFloors)
            var caughtUp = false
            switch read {
            case .caughtUp: caughtUp = true
            case .frames(let held, _, let last):
                caughtUp = last
                for frame in held { frames.retain(frame) }
            case .outOfHistory: break
            }
            // Under the lock with the read: what comes later is newer than these positions.
            let partitions = Int32(clamping: (cursorFloors.keys.max() ?? -1) + 1)
            let positions = Self.positions(of: entry, partitions: partitions, state, startOffsets)
            let settled = caughtUp && cursorFloors.allSatisfy { partition, floor in (positions[partition] ?? -1) >= floor }
            return ((read, settled), evicted)
        }
        for frame in released { frames.release(frame) }
        return result
    }

    /// The seq of `subject`'s message of version `version`, while its history holds it.
    func seq(_ subject: SubjectID, atVersion version: UInt64) -> Int64? {
        withFreshHistory(subject, absent: nil) { entry in entry.history.seq(atVersion: version) }
    }

    /// The newest seq of any subject of `partition` this registry forgot (see `State.forgottenThrough`).
    func forgottenThrough(_ partition: TopicPartition) -> Int64? {
        state.withLock { $0.forgottenThrough[partition] }
    }

    /// Where a reader that read `subject` from Kafka through `seq` goes on in the history, and
    /// the gap for what the history let go of after `seq`.
    func continuation(_ subject: SubjectID, afterSeq seq: Int64) -> (gap: ClosedRange<Int64>?, after: UInt64) {
        withFreshHistory(subject, absent: (nil, 0)) { entry in
            entry.history.continuation(afterSeq: seq, current: entry.version)
        }
    }

    /// Monotonic nanoseconds since this registry began, the clock of `Lag.oldestAt`.
    var now: Int64 { TrustPolicy.nanoseconds(.now - epoch) }

    /// Runs `body` on a subject under the lock, after dropping what has aged out of its history.
    /// A subject that is gone (forgotten: nobody held it) reads as `absent`.
    private func withFreshHistory<Result>(_ subject: SubjectID, absent: Result, _ body: (Entry) -> Result) -> Result {
        let cutoff = now - maxAge
        let (result, released) = state.withLock { state -> (Result, [FrameHandle]) in
            guard let entry = state.entries[subject.rawValue] else { return (absent, []) }
            let evicted = entry.recorded?.history.evict(olderThan: cutoff) ?? []
            state.historyFrames -= evicted.count
            return (body(entry), evicted)
        }
        for frame in released { frames.release(frame) }
        return result
    }

    /// The retained message and its version; the caller owns a reference to it.
    func retained(_ subject: SubjectID) -> RetainedMessage? {
        let found = state.withLock { state -> (FrameHandle, UInt64)? in
            guard let entry = state.entries[subject.rawValue], let frame = entry.retained else { return nil }
            frames.retain(frame)
            return (frame, entry.version)
        }
        guard let (frame, version) = found else { return nil }
        return RetainedMessage(frame: OwnedFrame(adopting: frame, from: frames), version: version)
    }
}

/// A subject's retained message as a subscriber gets it: one reference, released with it.
struct RetainedMessage: ~Copyable {
    let frame: OwnedFrame
    let version: UInt64
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

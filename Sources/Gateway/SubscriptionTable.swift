// Which connections of one ring subscribe to which subjects: a slot list per subject for the
// fan-out loop, and a subject list per slot so unsubscribing and closing cost O(subscriptions).
// A subscription whose connection could not take a message live is lagging: it holds a
// position in the subject's history (the version it has) and live messages pass it by until
// it has read its way back to the newest.

/// Public so benchmarks can measure the fan-out loop; each ring owns one.
public struct SubscriptionTable {
    /// 16 bytes, so a bucket of `bySubject` is 20 (a player brings two subjects of its own).
    private struct Subscribers {
        var slots = SubscriberSlots()
        /// Version of the last message delivered to this ring, to spot a retained replay that
        /// overtook a delivery still in the inbox.
        var deliveredVersion: UInt64 = 0
    }

    /// Bytes of one subject's value in `bySubject`, for the tests that keep it at 16.
    static var subscribersStride: Int { MemoryLayout<Subscribers>.stride }

    /// What only some subscriptions of a subject need, kept apart while none does.
    private struct Exceptions {
        /// Slots that already got version N as a retained message skip deliveries up to N.
        var skipUntil: [UInt32: UInt64] = [:]
        /// Slots reading this subject from its history instead of live.
        var lagging: Set<UInt32> = []

        var isEmpty: Bool { skipUntil.isEmpty && lagging.isEmpty }
    }

    /// Per slot: (subject, position of the slot in that subject's list); 8 bytes each.
    private var bySlot: [[(subject: UInt32, position: UInt32)]]
    /// Only the subjects this ring has subscribers of: subject ids are global, and an array
    /// indexed by them cost every ring 32 bytes per subject of the whole gateway (3 GiB with
    /// 51 rings and two subjects per player at a million players).
    private var bySubject: [UInt32: Subscribers] = [:]
    /// Only subjects with a skip or a lagging subscriber here.
    private var exceptions: [UInt32: Exceptions] = [:]
    /// Per lagging slot: the subjects it reads from history and the version it has of each.
    private var positions: [UInt32: [UInt32: UInt64]] = [:]

    public init(slots: Int) {
        bySlot = Array(repeating: [], count: slots)
    }

    public func count(of slot: UInt32) -> Int {
        bySlot[Int(slot)].count
    }

    func isSubscribed(_ slot: UInt32, to subject: SubjectID) -> Bool {
        bySlot[Int(slot)].contains { $0.subject == subject.rawValue }
    }

    func subscriberCount(_ subject: SubjectID) -> Int {
        bySubject[subject.rawValue]?.slots.count ?? 0
    }

    /// Adds a subscription; false when it already existed.
    @discardableResult
    public mutating func add(_ slot: UInt32, to subject: SubjectID) -> Bool {
        if isSubscribed(slot, to: subject) { return false }
        bySubject[subject.rawValue, default: Subscribers()].slots.append(slot)
        bySlot[Int(slot)].append((subject.rawValue, UInt32(bySubject[subject.rawValue]!.slots.count - 1)))
        return true
    }

    /// Marks that `slot` was just sent the retained message of `version`.
    mutating func noteRetainedSent(_ slot: UInt32, subject: SubjectID, version: UInt64) {
        guard let delivered = bySubject[subject.rawValue]?.deliveredVersion else { return }
        if version > delivered {
            exceptions[subject.rawValue, default: Exceptions()].skipUntil[slot] = version
        }
    }

    // MARK: - Lagging subscriptions

    /// The slots that read some subject from history.
    var laggingSlots: Dictionary<UInt32, [UInt32: UInt64]>.Keys { positions.keys }

    /// The subjects `slot` reads from history and the version it has of each.
    func lagPositions(of slot: UInt32) -> [(subject: SubjectID, after: UInt64)] {
        guard let subjects = positions[slot] else { return [] }
        return subjects.map { (SubjectID(rawValue: $0.key), $0.value) }.sorted { $0.subject.rawValue < $1.subject.rawValue }
    }

    func isLagging(_ slot: UInt32, on subject: SubjectID) -> Bool {
        positions[slot]?[subject.rawValue] != nil
    }

    /// From now on `slot` reads `subject` from history, having every version up to `after`.
    mutating func startLagging(_ slot: UInt32, on subject: SubjectID, after: UInt64) {
        guard bySubject[subject.rawValue] != nil else { return }
        exceptions[subject.rawValue, default: Exceptions()].lagging.insert(slot)
        exceptions[subject.rawValue]!.skipUntil[slot] = nil
        positions[slot, default: [:]][subject.rawValue] = after
    }

    /// `slot` was given `subject`'s messages through `version` from history.
    mutating func advance(_ slot: UInt32, on subject: SubjectID, to version: UInt64) {
        guard positions[slot]?[subject.rawValue] != nil else { return }
        positions[slot]![subject.rawValue] = version
    }

    /// `slot` read `subject`'s history up to its newest message, `version`: it goes back to live
    /// deliveries, skipping those up to `version` still on their way.
    mutating func caughtUp(_ slot: UInt32, on subject: SubjectID, version: UInt64) {
        forgetPosition(slot, subject.rawValue)
        if exceptions[subject.rawValue]?.lagging.remove(slot) != nil, exceptions[subject.rawValue]!.isEmpty {
            exceptions[subject.rawValue] = nil
        }
        noteRetainedSent(slot, subject: subject, version: version)
    }

    private mutating func forgetPosition(_ slot: UInt32, _ subject: UInt32) {
        guard positions[slot] != nil else { return }
        positions[slot]![subject] = nil
        if positions[slot]!.isEmpty { positions[slot] = nil }
    }

    @discardableResult
    mutating func remove(_ slot: UInt32, from subject: SubjectID) -> Bool {
        guard let entry = bySlot[Int(slot)].firstIndex(where: { $0.subject == subject.rawValue }) else {
            return false
        }
        let position = Int(bySlot[Int(slot)][entry].position)
        bySlot[Int(slot)].remove(at: entry)
        removeFromSubjectList(subject.rawValue, position: position, slot: slot)
        forgetPosition(slot, subject.rawValue)
        return true
    }

    /// Drops every subscription of a closed connection; returns the subjects it held.
    @discardableResult
    mutating func removeAll(_ slot: UInt32) -> [SubjectID] {
        let entries = bySlot[Int(slot)]
        bySlot[Int(slot)] = []
        positions[slot] = nil
        // Each entry's position is exact: removals in one subject's list never move another's.
        for (subject, position) in entries {
            removeFromSubjectList(subject, position: Int(position), slot: slot)
        }
        return entries.map { SubjectID(rawValue: $0.subject) }
    }

    /// Swap-remove, then fix the moved slot's recorded position; a subject left without
    /// subscribers here is forgotten, so churn does not grow the table.
    private mutating func removeFromSubjectList(_ subject: UInt32, position: Int, slot: UInt32) {
        guard var subscribers = bySubject.removeValue(forKey: subject) else { return }
        if let moved = subscribers.slots.swapRemove(at: position),
            let entry = bySlot[Int(moved)].firstIndex(where: { $0.subject == subject })
        {
            bySlot[Int(moved)][entry].position = UInt32(position)
        }
        if exceptions[subject] != nil {
            exceptions[subject]!.skipUntil[slot] = nil
            exceptions[subject]!.lagging.remove(slot)
            if subscribers.slots.isEmpty || exceptions[subject]!.isEmpty { exceptions[subject] = nil }
        }
        if !subscribers.slots.isEmpty { bySubject[subject] = subscribers }
    }

    /// Offers message `version` of `subject` to each subscriber that should get it live: `body`
    /// returns false when the connection cannot take it now, and that subscription starts
    /// lagging (it reads this message and the next ones from history).
    public mutating func forEachSubscriber(of subject: SubjectID, version: UInt64, _ body: (UInt32) -> Bool) {
        let key = subject.rawValue
        guard let subscribers = bySubject[key] else { return }
        bySubject[key]!.deliveredVersion = max(subscribers.deliveredVersion, version)
        var fellBehind: [UInt32] = []
        if let exceptions = exceptions.isEmpty ? nil : exceptions[key] {
            if exceptions.lagging.count < subscribers.slots.count {
                subscribers.slots.forEach { slot in
                    if let until = exceptions.skipUntil[slot], version <= until { return }
                    if exceptions.lagging.contains(slot) { return }
                    if !body(slot) { fellBehind.append(slot) }
                }
            }
            if !exceptions.skipUntil.isEmpty {
                // Optional: a subscriber closed by `body` may have taken the subject with it.
                self.exceptions[key]?.skipUntil = exceptions.skipUntil.filter { $0.value > version }
                if self.exceptions[key]?.isEmpty == true { self.exceptions[key] = nil }
            }
        } else {
            subscribers.slots.forEach { slot in
                if !body(slot) { fellBehind.append(slot) }
            }
        }
        for slot in fellBehind { startLagging(slot, on: subject, after: version - 1) }
    }
}

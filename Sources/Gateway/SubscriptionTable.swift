// Which connections of one ring subscribe to which subjects: a slot list per subject for the
// fan-out loop, and a subject list per slot so unsubscribing and closing cost O(subscriptions).

/// Public so benchmarks can measure the fan-out loop; each ring owns one.
public struct SubscriptionTable {
    private struct Subscribers {
        var slots: [UInt32] = []
        /// Version of the last message delivered to this ring, to spot a retained replay that
        /// overtook a delivery still in the inbox.
        var deliveredVersion: UInt64 = 0
        /// Slots that already got version N as a retained message skip deliveries up to N.
        var skipUntil: [UInt32: UInt64] = [:]
    }

    /// Per slot: (subject, position of the slot in that subject's list).
    private var bySlot: [[(subject: UInt32, position: Int)]]
    /// Only the subjects this ring has subscribers of: subject ids are global, and an array
    /// indexed by them cost every ring 32 bytes per subject of the whole gateway (3 GiB with
    /// 51 rings and two subjects per player at a million players).
    private var bySubject: [UInt32: Subscribers] = [:]

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
        bySlot[Int(slot)].append((subject.rawValue, bySubject[subject.rawValue]!.slots.count - 1))
        return true
    }

    /// Marks that `slot` was just sent the retained message of `version`.
    mutating func noteRetainedSent(_ slot: UInt32, subject: SubjectID, version: UInt64) {
        guard let delivered = bySubject[subject.rawValue]?.deliveredVersion else { return }
        if version > delivered {
            bySubject[subject.rawValue]!.skipUntil[slot] = version
        }
    }

    @discardableResult
    mutating func remove(_ slot: UInt32, from subject: SubjectID) -> Bool {
        guard let entry = bySlot[Int(slot)].firstIndex(where: { $0.subject == subject.rawValue }) else {
            return false
        }
        let position = bySlot[Int(slot)][entry].position
        bySlot[Int(slot)].remove(at: entry)
        removeFromSubjectList(subject.rawValue, position: position, slot: slot)
        return true
    }

    /// Drops every subscription of a closed connection.
    mutating func removeAll(_ slot: UInt32) {
        let entries = bySlot[Int(slot)]
        bySlot[Int(slot)] = []
        // Each entry's position is exact: removals in one subject's list never move another's.
        for (subject, position) in entries {
            removeFromSubjectList(subject, position: position, slot: slot)
        }
    }

    /// Swap-remove, then fix the moved slot's recorded position; a subject left without
    /// subscribers here is forgotten, so churn does not grow the table.
    private mutating func removeFromSubjectList(_ subject: UInt32, position: Int, slot: UInt32) {
        guard var subscribers = bySubject.removeValue(forKey: subject) else { return }
        let last = subscribers.slots.count - 1
        if position != last {
            let moved = subscribers.slots[last]
            subscribers.slots[position] = moved
            if let entry = bySlot[Int(moved)].firstIndex(where: { $0.subject == subject }) {
                bySlot[Int(moved)][entry].position = position
            }
        }
        subscribers.slots.removeLast()
        subscribers.skipUntil[slot] = nil
        if !subscribers.slots.isEmpty { bySubject[subject] = subscribers }
    }

    /// Calls `body` for each subscriber that should get message `version` of `subject`.
    public mutating func forEachSubscriber(of subject: SubjectID, version: UInt64, _ body: (UInt32) -> Void) {
        let key = subject.rawValue
        guard let subscribers = bySubject[key] else { return }
        bySubject[key]!.deliveredVersion = max(subscribers.deliveredVersion, version)
        if subscribers.skipUntil.isEmpty {
            for slot in subscribers.slots { body(slot) }
            return
        }
        for slot in subscribers.slots {
            if let until = subscribers.skipUntil[slot], version <= until { continue }
            body(slot)
        }
        // Optional: a subscriber closed by `body` may have taken the subject with it.
        bySubject[key]?.skipUntil = subscribers.skipUntil.filter { $0.value > version }
    }
}

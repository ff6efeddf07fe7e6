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
    private var bySubject: [Subscribers] = []

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
        Int(subject.rawValue) < bySubject.count ? bySubject[Int(subject.rawValue)].slots.count : 0
    }

    /// Adds a subscription; false when it already existed.
    @discardableResult
    public mutating func add(_ slot: UInt32, to subject: SubjectID) -> Bool {
        if isSubscribed(slot, to: subject) { return false }
        let index = Int(subject.rawValue)
        if index >= bySubject.count {
            bySubject.append(contentsOf: repeatElement(Subscribers(), count: index + 1 - bySubject.count))
        }
        bySubject[index].slots.append(slot)
        bySlot[Int(slot)].append((subject.rawValue, bySubject[index].slots.count - 1))
        return true
    }

    /// Marks that `slot` was just sent the retained message of `version`.
    mutating func noteRetainedSent(_ slot: UInt32, subject: SubjectID, version: UInt64) {
        let index = Int(subject.rawValue)
        if version > bySubject[index].deliveredVersion {
            bySubject[index].skipUntil[slot] = version
        }
    }

    @discardableResult
    mutating func remove(_ slot: UInt32, from subject: SubjectID) -> Bool {
        guard let entry = bySlot[Int(slot)].firstIndex(where: { $0.subject == subject.rawValue }) else {
            return false
        }
        let position = bySlot[Int(slot)][entry].position
        bySlot[Int(slot)].remove(at: entry)
        removeFromSubjectList(subject.rawValue, position: position)
        bySubject[Int(subject.rawValue)].skipUntil[slot] = nil
        return true
    }

    /// Drops every subscription of a closed connection.
    mutating func removeAll(_ slot: UInt32) {
        let entries = bySlot[Int(slot)]
        bySlot[Int(slot)] = []
        // Each entry's position is exact: removals in one subject's list never move another's.
        for (subject, position) in entries {
            removeFromSubjectList(subject, position: position)
            bySubject[Int(subject)].skipUntil[slot] = nil
        }
    }

    /// Swap-remove, then fix the moved slot's recorded position.
    private mutating func removeFromSubjectList(_ subject: UInt32, position: Int) {
        let index = Int(subject)
        let last = bySubject[index].slots.count - 1
        if position != last {
            let moved = bySubject[index].slots[last]
            bySubject[index].slots[position] = moved
            if let entry = bySlot[Int(moved)].firstIndex(where: { $0.subject == subject }) {
                bySlot[Int(moved)][entry].position = position
            }
        }
        bySubject[index].slots.removeLast()
    }

    /// Calls `body` for each subscriber that should get message `version` of `subject`.
    public mutating func forEachSubscriber(of subject: SubjectID, version: UInt64, _ body: (UInt32) -> Void) {
        let index = Int(subject.rawValue)
        guard index < bySubject.count else { return }
        bySubject[index].deliveredVersion = max(bySubject[index].deliveredVersion, version)
        if bySubject[index].skipUntil.isEmpty {
            for slot in bySubject[index].slots { body(slot) }
            return
        }
        let skips = bySubject[index].skipUntil
        for slot in bySubject[index].slots {
            if let until = skips[slot], version <= until { continue }
            body(slot)
        }
        bySubject[index].skipUntil = skips.filter { $0.value > version }
    }
}

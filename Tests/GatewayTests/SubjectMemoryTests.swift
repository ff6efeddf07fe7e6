import KafkaClient
import Testing
import UringIO
@testable import Gateway

@Suite struct SerialSlabTests {
    @Test func aRemovedPlaceIsReusedButItsSerialFindsNothing() {
        var slab = SerialSlab<String>()
        slab[10] = "/result/alice"
        slab[11] = "/top/alice"
        slab[10] = nil
        slab[12] = "/result/bob"
        #expect(slab.places == 2, "bob took alice's freed place")
        #expect(slab[10] == nil, "alice's serial no longer finds anything, though her place is bob's")
        #expect(slab[12] == "/result/bob")
        #expect(slab[11] == "/top/alice")
        #expect(slab.count == 2)
    }

    @Test func mutationsThroughTheSubscriptHappenInPlace() {
        var slab = SerialSlab<[Int]>()
        slab[1] = [1]
        slab[1]!.append(2)
        slab[2]?.append(3)  // absent: nothing inserted
        #expect(slab[1] == [1, 2])
        #expect(slab[2] == nil)
        #expect(slab.count == 1)
    }

    @Test func forEachVisitsEveryElementHeldOnce() {
        var slab = SerialSlab<UInt32>()
        for serial: UInt32 in 0..<100 { slab[serial] = serial }
        for serial: UInt32 in stride(from: 0, to: 100, by: 3) { slab[serial] = nil }
        for serial: UInt32 in 100..<110 { slab[serial] = serial }
        var seen: [UInt32] = []
        slab.forEach { seen.append($0) }
        let expected = (0..<110).filter { $0 >= 100 || $0 % 3 != 0 }
        #expect(seen.sorted() == expected.map(UInt32.init))
        #expect(slab.count == expected.count)
        #expect(slab.places == 100, "the ten new ones filled freed places")
    }
}

extension SerialSlabTests {
    @Test func updateChangesInPlaceAndRemoveGivesTheElementBack() {
        var slab = SerialSlab<[Int]>()
        slab[3] = [1]
        #expect(slab.update(3) { list -> Int in list.append(2); return list.count } == 2)
        #expect(slab.update(4) { $0.count } == nil, "absent: the body does not run")
        #expect(slab.remove(3) == [1, 2])
        #expect(slab.remove(3) == nil)
        #expect(slab.count == 0)
        slab[5] = [5]
        #expect(slab.places == 1, "the removed place was reused")
    }
}

@Suite struct SubjectNameIndexTests {
    /// Every name hashes alike, so all but the first go to the collision table.
    private func collidingIndex() -> SubjectNameIndex { SubjectNameIndex(hash: { _ in 42 }) }

    @Test func namesThatShareAHashStayApart() {
        let names = [1: "/result/alice", 2: "/result/bob", 3: "/top/alice"]
        var index = collidingIndex()
        for (id, name) in names { index.insert(name, id: UInt32(id)) }
        let nameOf = { (id: UInt32) in names[Int(id)] }
        for (id, name) in names { #expect(index.id(of: name, nameOf: nameOf) == UInt32(id)) }
        #expect(index.id(of: "/result/carol", nameOf: nameOf) == nil)
        #expect(index.count == 3)
    }

    @Test func removingTheFirstOfAHashKeepsTheOthersFound() {
        var names = [1: "/result/alice", 2: "/result/bob"]
        var index = collidingIndex()
        index.insert(names[1]!, id: 1)
        index.insert(names[2]!, id: 2)
        index.remove(names[1]!, id: 1)
        names[1] = nil
        let nameOf = { (id: UInt32) in names[Int(id)] }
        #expect(index.id(of: "/result/alice", nameOf: nameOf) == nil)
        #expect(index.id(of: "/result/bob", nameOf: nameOf) == 2)
        index.insert("/result/alice", id: 7)
        names[7] = "/result/alice"
        #expect(index.id(of: "/result/alice", nameOf: { names[Int($0)] }) == 7, "back in the hash's free place")
        index.remove("/result/bob", id: 2)
        index.remove("/result/alice", id: 7)
        #expect(index.count == 0)
    }

    @Test func withTheRealHashEveryNameIsFoundAfterChurn() {
        var names: [UInt32: String] = [:]
        var index = SubjectNameIndex()
        for id: UInt32 in 0..<2_000 {
            names[id] = "/result/player-\(id)"
            index.insert(names[id]!, id: id)
            if id >= 1_000 {  // forget the oldest as new ones come, as the registry does
                index.remove(names[id - 1_000]!, id: id - 1_000)
                names[id - 1_000] = nil
            }
        }
        #expect(index.count == 1_000)
        for (id, name) in names { #expect(index.id(of: name, nameOf: { names[$0] }) == id) }
        #expect(index.id(of: "/result/player-5", nameOf: { names[$0] }) == nil)
    }
}

@Suite struct SubscriberSlotsTests {
    private func slots(_ list: SubscriberSlots) -> [UInt32] {
        var all: [UInt32] = []
        list.forEach { all.append($0) }
        return all
    }

    @Test func oneSubscriberThenMoreThenBackToOne() {
        var list = SubscriberSlots()
        #expect(list.isEmpty)
        list.append(7)
        #expect(slots(list) == [7])
        list.append(8)
        list.append(9)
        #expect(slots(list) == [7, 8, 9])
        #expect(list[1] == 8)
        #expect(list.swapRemove(at: 0) == 9, "the last moves into the gap")
        #expect(slots(list) == [9, 8])
        #expect(list.swapRemove(at: 1) == nil, "the last removed: nothing moves")
        #expect(slots(list) == [9])
        #expect(list.count == 1)
        #expect(list.swapRemove(at: 0) == nil)
        #expect(list.isEmpty)
        #expect(slots(list) == [])
    }

    @Test func aLongListKeepsEverySlotThroughRemovals() {
        var list = SubscriberSlots()
        for slot: UInt32 in 0..<1_000 { list.append(slot) }
        var held = Array(UInt32(0)..<1_000)
        for position in [0, 500, 997, 3] {
            let moved = list.swapRemove(at: position)
            let last = held.removeLast()
            if position < held.count {
                held[position] = last
                #expect(moved == last)
            }
        }
        #expect(slots(list) == held)
    }
}

@Suite struct SubjectRegistryMemoryTests {
    @Test("a player's own subjects: 64 bytes in the registry's slab, 16 in a ring's table, one slot inline")
    func theStridesAPlayerPaysForStaySmall() {
        #expect(SubjectRegistry.entryStride == 64)
        #expect(SubscriptionTable.subscribersStride == 16)
        #expect(MemoryLayout<SubscriberSlots>.size == 8)
    }

    @Test func aForgottenSubjectsIDFindsNothingWhenItsPlaceHoldsAnother() throws {
        let pool = FramePool(capacity: 16)
        var noHistory = HistoryLimits()
        noHistory.messages = 0
        let registry = SubjectRegistry(frames: pool, history: noHistory, maxIdleSubjects: 0)
        let old = registry.join("/result/alice", ring: 0)
        let retained = try pool.acquireOwned(bytes: 10)
        let live = try pool.acquireOwned(bytes: 10)
        _ = registry.recordMessage("/result/alice", seq: 5, partition: 0, live: live, retained: retained)
        registry.leave(old)
        // Joining another subject forgets alice (over the idle budget of 0) and may take her place.
        let new = registry.join("/result/bob", ring: 0)
        #expect(registry.existingID(for: "/result/alice") == nil)
        #expect(new != old)
        #expect(registry.name(of: old) == nil)
        let gone = registry.retained(old) == nil
        #expect(gone, "a message on its way to alice reaches nobody")
        #expect(registry.name(of: new) == "/result/bob")
        #expect(registry.count == 1)
        #expect(registry.forgottenThrough(.init(topic: "result", partition: 0)) == 5, "her newest seq is remembered")
    }

    @Test func aSubjectWithoutMessagesHasAnEmptyHistory() {
        let pool = FramePool(capacity: 16)
        let registry = SubjectRegistry(frames: pool)
        let subject = registry.join("/top/carol", ring: 0)
        let none = registry.retained(subject) == nil
        #expect(none)
        #expect(registry.lag(subject, after: 0) == .init(bytes: 0, oldestAt: nil))
        #expect(registry.memoryCoverage(subject) == (nil, nil))
        #expect(registry.resumePoint(subject, afterSeq: 3) == (nil, 0))
    }
}

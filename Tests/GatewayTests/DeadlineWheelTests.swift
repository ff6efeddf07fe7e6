import Testing
@testable import Gateway

@Suite struct DeadlineWheelTests {
    private func due(_ wheel: inout DeadlineWheel, through second: Int64) -> [UInt32] {
        var slots: [UInt32] = []
        wheel.takeDue(through: second, into: &slots)
        return slots.sorted()
    }

    @Test func slotsComeDueAtTheirSecondAndNotBefore() {
        var wheel = DeadlineWheel(slots: 8, now: 100)
        wheel.schedule(1, at: 103)
        wheel.schedule(2, at: 101)
        wheel.schedule(5, at: 103)
        #expect(wheel.scheduledCount == 3)
        #expect(due(&wheel, through: 100) == [])
        #expect(due(&wheel, through: 102) == [2])
        #expect(due(&wheel, through: 103) == [1, 5])
        #expect(wheel.scheduledCount == 0)
        #expect(!wheel.isScheduled(1))
        #expect(due(&wheel, through: 200) == [])
    }

    @Test func movingOrRemovingASlotKeepsItOnTheWheelOnceAtMost() {
        var wheel = DeadlineWheel(slots: 8, now: 0)
        for slot: UInt32 in 0..<4 { wheel.schedule(slot, at: 5) }
        wheel.schedule(1, at: 2)
        wheel.schedule(1, at: 3)
        wheel.unschedule(2)
        wheel.unschedule(2)
        wheel.unschedule(7)
        #expect(wheel.scheduledCount == 3)
        #expect(due(&wheel, through: 3) == [1])
        #expect(due(&wheel, through: 5) == [0, 3])
    }

    @Test func thePastMeansTheNextSecondAndTheFarFutureTheHorizon() {
        var wheel = DeadlineWheel(slots: 4, now: 10)
        wheel.schedule(0, at: 3)
        wheel.schedule(1, at: 10 + 1_000)
        #expect(due(&wheel, through: 11) == [0])
        #expect(due(&wheel, through: 10 + DeadlineWheel.horizon - 1) == [])
        #expect(due(&wheel, through: 10 + DeadlineWheel.horizon) == [1])
    }

    @Test func aLongPauseTakesEverythingDueOnce() {
        var wheel = DeadlineWheel(slots: 300, now: 0)
        for slot in 0..<300 { wheel.schedule(UInt32(slot), at: Int64(1 + slot % 64)) }
        // A slot taken may be put back at once, as the trust check does; it is not taken twice.
        var slots: [UInt32] = []
        wheel.takeDue(through: 10_000, into: &slots)
        #expect(slots.count == 300)
        #expect(Set(slots).count == 300)
        wheel.schedule(7, at: 10_000)
        #expect(due(&wheel, through: 10_000) == [])
        #expect(due(&wheel, through: 10_001) == [7])
    }
}

import Testing
@testable import Gateway

@Suite struct SubscriptionTableTests {
    private func subscribers(_ table: inout SubscriptionTable, _ subject: UInt32, version: UInt64) -> [UInt32] {
        var slots: [UInt32] = []
        table.forEachSubscriber(of: SubjectID(rawValue: subject), version: version) { slots.append($0); return true }
        return slots.sorted()
    }

    @Test func addAndRemoveKeepEveryOtherSubscriber() {
        var table = SubscriptionTable(slots: 16)
        let question = SubjectID(rawValue: 0)
        for slot: UInt32 in 0..<10 {
            let added = table.add(slot, to: question)
            #expect(added)
        }
        let again = table.add(3, to: question)
        #expect(!again, "a second sub to the same subject is not a new subscription")
        let removals = [table.remove(0, from: question), table.remove(5, from: question), table.remove(5, from: question)]
        #expect(removals == [true, true, false])
        #expect(subscribers(&table, 0, version: 1) == [1, 2, 3, 4, 6, 7, 8, 9])
    }

    @Test func aSubjectLeftWithoutSubscribersIsForgottenAndCanComeBack() {
        var table = SubscriptionTable(slots: 4)
        let result = SubjectID(rawValue: 2_000_000)  // a per-user subject with a high global id
        table.add(1, to: result)
        table.remove(1, from: result)
        #expect(table.subscriberCount(result) == 0)
        #expect(subscribers(&table, 2_000_000, version: 1).isEmpty)
        table.add(2, to: result)
        table.noteRetainedSent(2, subject: result, version: 3)
        #expect(subscribers(&table, 2_000_000, version: 3).isEmpty, "version 3 was sent as retained")
        #expect(subscribers(&table, 2_000_000, version: 4) == [2])
    }

    @Test func closingAConnectionDropsAllItsSubscriptions() {
        var table = SubscriptionTable(slots: 8)
        for subject: UInt32 in 0..<3 {
            for slot: UInt32 in 0..<4 { table.add(slot, to: SubjectID(rawValue: subject)) }
        }
        table.removeAll(1)
        table.removeAll(2)
        for subject: UInt32 in 0..<3 {
            #expect(subscribers(&table, subject, version: 1) == [0, 3])
        }
        #expect(table.count(of: 1) == 0)
        // Positions stay right after swaps: removing the survivors one by one empties the lists.
        table.removeAll(3)
        table.removeAll(0)
        for subject: UInt32 in 0..<3 { #expect(table.subscriberCount(SubjectID(rawValue: subject)) == 0) }
    }

    @Test func aRetainedReplaySkipsTheSameMessageStillInTheInbox() {
        var table = SubscriptionTable(slots: 4)
        let subject = SubjectID(rawValue: 0)
        table.add(0, to: subject)
        #expect(subscribers(&table, 0, version: 1) == [0])
        // Slot 1 subscribes and is sent version 2 as retained before version 2 is delivered here.
        table.add(1, to: subject)
        table.noteRetainedSent(1, subject: subject, version: 2)
        #expect(subscribers(&table, 0, version: 2) == [0], "slot 1 already has version 2")
        #expect(subscribers(&table, 0, version: 3) == [0, 1])
    }

    @Test func aRetainedReplayOfAnAlreadyDeliveredVersionSkipsNothing() {
        var table = SubscriptionTable(slots: 4)
        let subject = SubjectID(rawValue: 0)
        table.add(0, to: subject)
        _ = subscribers(&table, 0, version: 5)
        table.add(1, to: subject)
        table.noteRetainedSent(1, subject: subject, version: 5)
        #expect(subscribers(&table, 0, version: 6) == [0, 1])
    }
}

@Suite struct RingPlanTests {
    @Test func oneThreadPerCoreWithOneRingWhenTheDescriptorLimitHoldsItsShare() {
        let plan = RingPlan(maxConnections: 1_000, descriptorLimit: 20_000, cores: 2)
        #expect(plan.threads == 2)
        #expect(plan.ringsPerThread == 1)
        #expect(plan.slotsPerRing >= 500)
    }

    @Test("a million connections: still one thread per core, each running the rings its half needs")
    func threadsFollowCoresAndRingsFollowDescriptors() {
        let plan = RingPlan(maxConnections: 1_000_000, descriptorLimit: 20_000, cores: 2)
        #expect(plan.threads == 2)
        #expect(plan.ringsPerThread == 26)
        #expect(plan.slotsPerRing <= 20_000)
        #expect(plan.capacity >= 1_000_000)
    }

    @Test func ioThreadsOverrideTheCoreCount() {
        let plan = RingPlan(maxConnections: 50_000, descriptorLimit: 20_000, cores: 2, threads: 1)
        #expect(plan.threads == 1)
        #expect(plan.ringsPerThread == 3)
        #expect(plan.slotsPerThread == 3 * plan.slotsPerRing)
        #expect(plan.capacity >= 50_000)
    }
}

@Suite struct LaggingSubscriptionTests {
    let subject = SubjectID(rawValue: 7)

    /// Offers `version` to every subscriber; those in `full` cannot take it live.
    private func offer(_ table: inout SubscriptionTable, version: UInt64, full: Set<UInt32> = []) -> [UInt32] {
        var taken: [UInt32] = []
        table.forEachSubscriber(of: subject, version: version) { slot in
            guard !full.contains(slot) else { return false }
            taken.append(slot)
            return true
        }
        return taken.sorted()
    }

    @Test func aSubscriberThatCannotTakeAMessageLagsFromTheVersionBeforeIt() {
        var table = SubscriptionTable(slots: 4)
        for slot: UInt32 in 0..<3 { table.add(slot, to: subject) }
        #expect(offer(&table, version: 1) == [0, 1, 2])
        #expect(offer(&table, version: 2, full: [1]) == [0, 2])
        #expect(table.lagPositions(of: 1).map(\.after) == [1], "it has version 1; it reads 2 from history")
        #expect(offer(&table, version: 3) == [0, 2], "live messages pass a lagging subscriber by")
        #expect(Array(table.laggingSlots) == [1])
    }

    @Test func aCaughtUpSubscriberGoesLiveAfterTheVersionItReadTo() {
        var table = SubscriptionTable(slots: 4)
        table.add(0, to: subject)
        table.add(1, to: subject)
        #expect(offer(&table, version: 1, full: [1]) == [0])
        table.advance(1, on: subject, to: 2)
        #expect(table.lagPositions(of: 1).map(\.after) == [2])
        // It read versions 1...3 from history while version 2 and 3 were still on their way live.
        table.caughtUp(1, on: subject, version: 3)
        #expect(offer(&table, version: 2) == [0])
        #expect(offer(&table, version: 3) == [0])
        #expect(offer(&table, version: 4) == [0, 1], "exactly once: live again from version 4")
        #expect(table.laggingSlots.isEmpty)
    }

    @Test func closingOrUnsubscribingForgetsThePosition() {
        var table = SubscriptionTable(slots: 4)
        let other = SubjectID(rawValue: 8)
        table.add(0, to: subject)
        table.add(0, to: other)
        table.startLagging(0, on: subject, after: 5)
        table.startLagging(0, on: other, after: 9)
        table.remove(0, from: subject)
        #expect(table.lagPositions(of: 0).map(\.subject) == [other])
        table.removeAll(0)
        #expect(table.laggingSlots.isEmpty)
        table.add(0, to: subject)
        #expect(offer(&table, version: 6) == [0], "a new connection in the slot is live")
    }
}

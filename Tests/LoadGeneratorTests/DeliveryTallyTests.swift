import LoadGenerator
import Testing

@Suite struct DeliveryTallyTests {
    @Test func inOrderProbesLoseNothing() {
        var tally = DeliveryTally()
        for index in 0..<5 { #expect(tally.record(index) == .inOrder) }
        #expect(tally.missing(of: 5) == 0)
    }

    @Test func aJumpCountsTheSkippedProbes() {
        var tally = DeliveryTally()
        tally.record(0)
        #expect(tally.record(3) == .early)
        #expect(tally.missing(of: 4) == 2)
    }

    @Test func probesReorderedAcrossPartitionsAreNeitherLostNorDuplicated() {
        var tally = DeliveryTally()
        for index in [0, 2, 1, 5, 3, 4, 6] { tally.record(index) }
        #expect(tally.missing(of: 7) == 0)
        #expect(tally.duplicates == 0)
        #expect(tally.next == 7)
    }

    @Test func aRepeatInsideTheWindowIsADuplicate() {
        var tally = DeliveryTally()
        tally.record(0)
        tally.record(3)
        #expect(tally.record(3) == .duplicate)
        #expect(tally.received == 2)
    }

    @Test func aProbeFarAheadSlidesTheWindowAndCountsTheRestMissing() {
        var tally = DeliveryTally()
        tally.record(0)
        #expect(tally.record(200) == .early)
        #expect(tally.next == 137)
        #expect(tally.missing(of: 201) == 199)
        #expect(tally.record(1) == .duplicate)
    }

    @Test func probesNeverReceivedAtTheEndAreMissing() {
        var tally = DeliveryTally()
        tally.record(0)
        tally.record(1)
        #expect(tally.missing(of: 10) == 8)
        #expect(DeliveryTally().missing(of: 3) == 3)
    }

    @Test func aRepeatedProbeIsADuplicateNotADelivery() {
        var tally = DeliveryTally()
        tally.record(0)
        tally.record(1)
        #expect(tally.record(1) == .duplicate)
        #expect(tally.received == 2)
        #expect(tally.duplicates == 1)
        #expect(tally.missing(of: 2) == 0)
    }

    @Test func summaryAddsConnectionsAndCountsTheAffectedOnes() {
        var complete = DeliveryTally()
        var lossy = DeliveryTally()
        for index in 0..<4 { complete.record(index) }
        lossy.record(0)
        lossy.record(2)
        var first = LossSummary()
        first.add(complete, published: 4)
        var second = LossSummary()
        second.add(lossy, published: 4)
        first.merge(second)
        #expect(first.connections == 2)
        #expect(first.expected == 8)
        #expect(first.received == 6)
        #expect(first.missing == 2)
        #expect(first.connectionsWithLoss == 1)
    }
}

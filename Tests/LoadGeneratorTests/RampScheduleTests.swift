import LoadGenerator
import Testing

@Suite struct RampScheduleTests {
    @Test func startsWithNothingDue() {
        #expect(RampSchedule(total: 1000, rate: 100).due(after: .zero) == 0)
    }

    @Test func releasesRateTimesElapsedConnections() {
        let ramp = RampSchedule(total: 100_000, rate: 38_000)
        #expect(ramp.due(after: .milliseconds(100)) == 3_800)
        #expect(ramp.due(after: .seconds(1)) == 38_000)
        #expect(ramp.due(after: .milliseconds(1_500)) == 57_000)
    }

    @Test func roundsPartialConnectionsDown() {
        let ramp = RampSchedule(total: 10, rate: 3)
        #expect(ramp.due(after: .milliseconds(999)) == 2)
        #expect(ramp.due(after: .seconds(1)) == 3)
    }

    @Test func neverExceedsTheTotal() {
        let ramp = RampSchedule(total: 500, rate: 1_000)
        #expect(ramp.due(after: .seconds(10)) == 500)
        #expect(ramp.duration == .milliseconds(500))
    }

    @Test func zeroRateReleasesEverythingAtOnce() {
        let ramp = RampSchedule(total: 20_000, rate: 0)
        #expect(ramp.due(after: .zero) == 20_000)
        #expect(ramp.duration == .zero)
    }

    @Test func catchesUpAfterALateTick() {
        let ramp = RampSchedule(total: 1_000_000, rate: 10_000)
        let early = ramp.due(after: .milliseconds(100))
        let late = ramp.due(after: .milliseconds(700))
        #expect(late - early == 6_000)
    }
}

// Probes are due on a fixed timetable; one that goes out late keeps its due time.
import LoadGenerator
import Testing

@Suite struct ProbeScheduleTests {
    private let schedule = ProbeSchedule(startMs: 1_000, intervalMs: 100, count: 5)

    @Test func aLateTickPublishesEveryProbeDueSinceWithItsOwnDueTime() {
        // The ring woke 350 ms after the start with nothing published: probes 0 to 3 are due.
        let due = schedule.due(atMs: 1_350, published: 0)
        #expect(due == 0..<4)
        #expect(due.map { schedule.scheduledMs(ofProbe: $0) } == [1_000, 1_100, 1_200, 1_300])
    }

    @Test func nothingIsDueTwiceAndNothingPastTheCount() {
        #expect(schedule.due(atMs: 1_150, published: 2).isEmpty)
        #expect(schedule.due(atMs: 1_250, published: 2) == 2..<3)
        #expect(schedule.due(atMs: 99_000, published: 3) == 3..<5)
        #expect(schedule.due(atMs: 99_000, published: 5).isEmpty)
    }

    @Test func nothingIsDueBeforeTheStart() {
        #expect(schedule.due(atMs: 999, published: 0).isEmpty)
    }

    @Test func byTheTimeElapsedSinceTheStartAProbeIsDueOnlyOnceItsIntervalsHavePassed() {
        // The publisher counts on the monotonic clock, so a wall clock stepped forward releases nothing early.
        #expect(schedule.due(elapsedMs: 0, published: 0) == 0..<1)
        #expect(schedule.due(elapsedMs: 99, published: 1).isEmpty)
        #expect(schedule.due(elapsedMs: 100, published: 1) == 1..<2)
        #expect(schedule.due(elapsedMs: 350, published: 2) == 2..<4)
    }
}

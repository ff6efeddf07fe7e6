// The exit status of stadium-load: a run passes only within what it was told to tolerate.
import LoadGenerator
import Testing

@Suite struct RunVerdictTests {
    private func fanoutLoss(missing: Int, duplicates: Int = 0) -> LossSummary {
        var tally = DeliveryTally()
        tally.record(0)
        for _ in 0..<duplicates { tally.record(0) }
        var loss = LossSummary()
        loss.add(tally, published: 1 + missing)
        return loss
    }

    @Test func aCleanRunPasses() {
        let verdict = RunVerdict(
            counters: ["handshakes": 10], neverConnected: 0, loss: fanoutLoss(missing: 0), players: nil,
            tolerances: Tolerances())
        #expect(verdict.passed)
        #expect(verdict.failures.isEmpty)
    }

    @Test func aRunWhoseEveryConnectionFailedDoesNotPass() {
        let verdict = RunVerdict(
            counters: ["connect_failures": 5_000], neverConnected: 5_000, loss: nil, players: nil, tolerances: Tolerances())
        #expect(!verdict.passed)
        #expect(verdict.connectionFailures == 5_000)
        #expect(verdict.failures.count == 2)
    }

    @Test func disconnectsAreConnectionFailures() {
        let verdict = RunVerdict(
            counters: ["disconnects": 1], neverConnected: 0, loss: nil, players: nil, tolerances: Tolerances())
        #expect(!verdict.passed)
    }

    @Test func lossAndDuplicatesFailUnlessTolerated() {
        let loss = fanoutLoss(missing: 2, duplicates: 1)
        let strict = RunVerdict(counters: [:], neverConnected: 0, loss: loss, players: nil, tolerances: Tolerances())
        #expect(!strict.passed)
        #expect(strict.lost == 2 && strict.duplicates == 1)
        let lenient = RunVerdict(
            counters: [:], neverConnected: 0, loss: loss, players: nil, tolerances: Tolerances(lost: 2, duplicates: 1))
        #expect(lenient.passed)
    }

    @Test func playersLossCounts() {
        var tally = PlayerTally()
        tally.question(number: 1, contiguous: true)
        tally.question(number: 3, contiguous: true)
        var players = PlayerSummary()
        players.add(tally, stoppedEarly: false)
        let verdict = RunVerdict(counters: [:], neverConnected: 0, loss: nil, players: players, tolerances: Tolerances())
        #expect(!verdict.passed)
        #expect(verdict.lost == 1)
    }
}

// Rings tally their own rounds; the report adds them up per question, in the order they opened.
import Testing

@testable import LoadGenerator

@Suite("RoundLedger")
struct RoundLedgerTests {
    private let first = Array(#""q001""#.utf8)
    private let second = Array(#""q002""#.utf8)

    @Test func ringsTalliesAddUpPerQuestionInTheOrderTheyOpened() {
        let ringA = RoundLedger()
        let ringB = RoundLedger()
        // Ring B saw only the second question (its bots were away for the first).
        ringB.questionDelivered(second, delayMs: 900, nowMs: 2_000)
        ringA.questionDelivered(first, delayMs: 100, nowMs: 1_000)
        ringA.questionDelivered(first, delayMs: 300, nowMs: 1_010)
        ringA.update(first) { $0.answers += 2; $0.acks += 2; $0.results += 2; $0.correct += 1 }
        ringA.questionDelivered(second, delayMs: 200, nowMs: 2_050)
        ringB.update(second) { $0.answers += 1; $0.acks += 1 }

        let rounds = RoundLedger.merged([ringB, ringA])
        #expect(rounds.map(\.questionIDJSON) == [first, second])
        #expect(rounds[0].deliveries == 2 && rounds[0].slowestDeliveryMs == 300)
        #expect(rounds[0].answers == 2 && rounds[0].acks == 2 && rounds[0].results == 2 && rounds[0].correct == 1)
        #expect(rounds[1].deliveries == 2 && rounds[1].slowestDeliveryMs == 900)
        #expect(rounds[1].answers == 1 && rounds[1].acks == 1 && rounds[1].results == 0)
        #expect(rounds[1].openedMs == 2_000)
    }

    @Test func anUpdateForAQuestionTheRingNeverSawChangesNothing() {
        let ring = RoundLedger()
        ring.update(first) { $0.acks += 1 }
        #expect(RoundLedger.merged([ring]).isEmpty)
    }
}

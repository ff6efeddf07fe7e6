// Each player is accounted on its own: a loss and a duplicate never cancel out in the totals.
import LoadGenerator
import Testing

@Suite struct PlayerTallyTests {
    /// A player who received questions numbered `rounds` and answered, acked and resulted `answered`.
    private func player(rounds: [Int64], answered: [Int32] = []) -> PlayerTally {
        var tally = PlayerTally()
        for round in rounds { tally.question(number: round, contiguous: true) }
        for serial in answered {
            tally.answerSent(question: serial)
            _ = tally.ack(question: serial)
            _ = tally.result(question: serial)
        }
        return tally
    }

    @Test func oneMissedQuestionAndAnotherPlayersRepeatShowAsOneOfEach() {
        // Two players, rounds 1 to 3: A never got round 2, B got round 2 twice. Per round the
        // deliveries add up to 2, 2, 2 as if nothing went wrong.
        let missing = player(rounds: [1, 3])
        let repeated = player(rounds: [1, 2, 2, 3])
        var summary = PlayerSummary()
        summary.add(missing, stoppedEarly: false)
        summary.add(repeated, stoppedEarly: false)
        #expect(summary.questionsReceived == 5)
        #expect(summary.questionsMissed == 1)
        #expect(summary.questionDuplicates == 1)
        #expect(summary.lost == 1 && summary.duplicates == 1)
        #expect(summary.playersWithLoss == 1 && summary.playersWithDuplicates == 1)
    }

    @Test func aSeqThatSkipsValuesIsNotALoss() {
        // Without a round counter the gateway's seq (a Kafka offset) numbers the questions.
        var tally = PlayerTally()
        #expect(tally.question(number: 40, contiguous: false) == .new)
        #expect(tally.question(number: 57, contiguous: false) == .new)
        #expect(tally.question(number: 57, contiguous: false) == .duplicate)
        #expect(tally.questionsMissed == 0 && tally.questionDuplicates == 1)
    }

    @Test func aRepeatedAckOrResultIsADuplicateAndOneForNoAnswerIsUnexpected() {
        var tally = PlayerTally()
        tally.answerSent(question: 4)
        #expect(tally.ack(question: 4) == .new)
        #expect(tally.ack(question: 4) == .duplicate)
        #expect(tally.result(question: 4) == .new)
        #expect(tally.result(question: 4) == .duplicate)
        #expect(tally.result(question: 5) == .unexpected)
        #expect(tally.ackDuplicates == 1 && tally.resultDuplicates == 1 && tally.unexpected == 1)
        #expect(tally.acksOutstanding == 0 && tally.resultsOutstanding == 0)
    }

    @Test func anotherPlayersExtraResultDoesNotMakeUpForAMissingOne() {
        var unanswered = PlayerTally()
        unanswered.answerSent(question: 1)
        _ = unanswered.ack(question: 1)
        var twice = player(rounds: [], answered: [1])
        _ = twice.result(question: 1)
        var summary = PlayerSummary()
        summary.add(unanswered, stoppedEarly: false)
        summary.add(twice, stoppedEarly: false)
        #expect(summary.answersSent == 2)
        #expect(summary.resultsMissing == 1)
        #expect(summary.resultDuplicates == 1)
    }

    @Test func resultsOutOfOrderAreNeitherLostNorDuplicated() {
        var tally = PlayerTally()
        for serial: Int32 in [0, 1, 2] { tally.answerSent(question: serial) }
        for serial: Int32 in [1, 0, 2] { #expect(tally.result(question: serial) == .new) }
        #expect(tally.resultsOutstanding == 0 && tally.resultDuplicates == 0)
    }

    @Test func atAStopOnlyTheLatestAnswerMayBeInFlight() {
        var tally = PlayerTally()
        tally.answerSent(question: 0)
        _ = tally.ack(question: 0)
        tally.answerSent(question: 1)  // neither its ack nor its result yet
        var stopped = PlayerSummary()
        stopped.add(tally, stoppedEarly: true)
        #expect(stopped.answersInFlight == 1)
        #expect(stopped.acksMissing == 0)
        #expect(stopped.resultsMissing == 1)  // question 0's result had its chance
        var drained = PlayerSummary()
        drained.add(tally, stoppedEarly: false)
        #expect(drained.answersInFlight == 0)
        #expect(drained.acksMissing == 1 && drained.resultsMissing == 2)
    }
}

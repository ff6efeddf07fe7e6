import LoadGenerator
import Testing

@Suite struct QuizMessagesTests {
    private func parse<T>(_ json: String, _ make: (RawSpan, Range<Int>) -> T?) -> T? {
        let bytes = Array(json.utf8)
        return make(bytes.span.bytes, 0..<bytes.count)
    }

    @Test func readsAQuestionAsTheProcessorsPublishIt() {
        let json = #"{"id":"r12","round":12,"question":"2+2?","answers":["3","4","5","22"],"published_ms":1700000000000,"deadline_ms":1700000010000,"points":10}"#
        let offer = parse(json) { QuestionOffer(data: $0, range: $1) }
        #expect(offer == QuestionOffer(
            idJSON: Array("\"r12\"".utf8), text: "2+2?", answerCount: 4, deadlineMs: 1_700_000_010_000,
            publishedMs: 1_700_000_000_000, round: 12))
    }

    @Test func keepsTheQuestionIDAsTheJSONStringAnAnswerEchoes() {
        let json = #"{"id":"q\"1-r2","round":2,"question":"?","answers":["a","b"],"published_ms":1,"deadline_ms":5,"points":1}"#
        let offer = parse(json) { QuestionOffer(data: $0, range: $1) }
        #expect(offer?.idJSON == Array(#""q\"1-r2""#.utf8))
    }

    @Test func refusesAQuestionWithoutDeadlineOrAnswers() {
        #expect(parse(#"{"id":1,"answers":["a"]}"#) { QuestionOffer(data: $0, range: $1) } == nil)
        #expect(parse(#"{"id":1,"answers":[],"deadline_ms":5}"#) { QuestionOffer(data: $0, range: $1) } == nil)
        #expect(parse(#"["not","an","object"]"#) { QuestionOffer(data: $0, range: $1) } == nil)
    }

    @Test func readsAResult() {
        let json = #"{"question_id":"r12","answer":1,"correct_answer":1,"points":10,"total":30,"late":false,"seq":3}"#
        let result = parse(json) { ResultNotice(data: $0, range: $1) }
        #expect(result == ResultNotice(questionIDJSON: Array("\"r12\"".utf8), answer: 1, correctAnswer: 1, points: 10, total: 30))
        #expect(result?.isCorrect == true)
    }

    @Test func aProbeSurvivesItsOwnEncoding() {
        let probe = FanoutProbe(index: 7, scheduledMs: 1_700_000_000_100, sentMs: 1_700_000_000_123)
        let json = String(decoding: probe.json, as: UTF8.self)
        #expect(parse(json) { FanoutProbe(data: $0, range: $1) } == probe)
    }

    @Test func aPaddedProbeIsAsLargeAsAskedAndStillParses() {
        let probe = FanoutProbe(index: 3, scheduledMs: 1_700_000_000_400, sentMs: 1_700_000_000_456)
        let bare = probe.json.count
        let padded = probe.json(paddingBytes: 4096)
        let member = Array(#","pad":"#.utf8).count + 2  // the member's name and its string's quotes
        #expect(padded.count == bare + 4096 + member)
        #expect(parse(String(decoding: padded, as: UTF8.self)) { FanoutProbe(data: $0, range: $1) } == probe)
    }

    @Test func aProbeIsReadInAnyMemberOrderAndNeedsAllThreeNumbers() {
        let probe = FanoutProbe(index: 5, scheduledMs: 100, sentMs: 120)
        #expect(parse(#"{"pad":"xxxx","sent_ms":120,"n":5,"scheduled_ms":100}"#) { FanoutProbe(data: $0, range: $1) } == probe)
        #expect(parse(#"{"n":5,"scheduled_ms":100,"pad":"xxxx"}"#) { FanoutProbe(data: $0, range: $1) } == nil)
        #expect(parse(#"{"n":"5","scheduled_ms":100,"sent_ms":120}"#) { FanoutProbe(data: $0, range: $1) } == nil)
        #expect(parse(#"{"n":-1,"scheduled_ms":100,"sent_ms":120}"#) { FanoutProbe(data: $0, range: $1) } == nil)
        #expect(parse(#"["n",5]"#) { FanoutProbe(data: $0, range: $1) } == nil)
    }

    @Test func deliveryLatencyCountsFromTheScheduledSendNotTheActualOne() {
        // Due at 1,000 but sent 350 ms late (the publisher's ring was busy): a receipt at 1,360
        // is 360 ms after the schedule, not the 10 ms a clock started at the send would show.
        let probe = FanoutProbe(index: 0, scheduledMs: 1_000, sentMs: 1_350)
        #expect(probe.deliveryLatencyMs(receivedMs: 1_360) == 360)
    }

    @Test func aProbeScheduledBeforeTheRunBeganIsAnEarlierRunsNotThisOnes() {
        // An earlier run's last probe, still in a shared broker, must not start or end this run.
        let earlier = FanoutProbe(index: 44, scheduledMs: 9_999, sentMs: 10_001)
        let own = FanoutProbe(index: 0, scheduledMs: 10_000, sentMs: 10_002)
        #expect(earlier.wasScheduled(before: 10_000))
        #expect(!own.wasScheduled(before: 10_000))
    }
}

import Testing
@testable import Quiz

@Suite struct ScoringTests {
    @Test func correctAnswerScoresQuestionPoints() throws {
        var engine = Fixtures.engineWithOpenQuestion()
        let outcome = engine.answer("alice", 1)
        guard case .scored(let record) = outcome else { Issue.record("not scored: \(outcome)"); return }
        #expect(record.topic == .result)
        #expect(record.key == Fixtures.bytes("alice"))
        let result = Fixtures.object(record.value)
        #expect(result["question_id"] as? String == "alpha-r1")
        #expect(result["answer"] as? Int == 1)
        #expect(result["correct_answer"] as? Int == 1)
        #expect(result["points"] as? Int == 100)
        #expect(result["total"] as? Int == 100)
        #expect(engine.answersScored == 1)
    }

    @Test func wrongAnswerScoresZeroButCounts() {
        var engine = Fixtures.engineWithOpenQuestion()
        let result = Fixtures.result(engine.answer("bob", 2))
        #expect(result?["points"] as? Int == 0)
        #expect(result?["correct_answer"] as? Int == 1)
        #expect(engine.total(of: "bob") == 0)
    }

    @Test func firstAnswerWinsAndLaterOnesAreIgnored() {
        var engine = Fixtures.engineWithOpenQuestion()
        #expect(Fixtures.result(engine.answer("alice", 0))?["points"] as? Int == 0)
        #expect(engine.answer("alice", 1) == .duplicate)
        #expect(engine.total(of: "alice") == 0)
        #expect(engine.duplicateAnswers == 1)
        #expect(engine.resultsProduced == 1)
    }

    @Test func lateAnswerJudgedByKafkaTimestampScoresZero() {
        var engine = Fixtures.engineWithOpenQuestion()
        let deadline = engine.currentQuestion!.deadlineMs
        let onTime = Fixtures.result(engine.answer("alice", 1, atMs: deadline))
        let late = Fixtures.result(engine.answer("bob", 1, atMs: deadline + 1))
        #expect(onTime?["points"] as? Int == 100)
        #expect(late?["points"] as? Int == 0)
        #expect(late?["late"] as? Bool == true)
        #expect(engine.lateAnswers == 1)
    }

    @Test func answerTextIsAcceptedLikeItsIndex() {
        var engine = Fixtures.engineWithOpenQuestion()
        let value = Fixtures.bytes(#"{"answer":"a1","question_id":"alpha-r1"}"#)
        let outcome = engine.answerRecord(key: Fixtures.bytes("carol"), value: value, kafkaTimestampMs: Fixtures.startMs)
        #expect(Fixtures.result(outcome)?["points"] as? Int == 100)
    }

    @Test func unknownQuestionIsRejectedAndCounted() {
        var engine = Fixtures.engineWithOpenQuestion()
        let outcome = engine.answerRecord(
            key: Fixtures.bytes("alice"), value: Fixtures.answerValue("beta-r9", 1), kafkaTimestampMs: Fixtures.startMs
        )
        #expect(outcome == .rejected(.unknownQuestion))
        #expect(engine.badAnswers[.unknownQuestion] == 1)
        #expect(engine.userCount == 0)
    }

    @Test func badJSONIsRejectedAndCounted() {
        var engine = Fixtures.engineWithOpenQuestion()
        for value in ["not json", "{\"question_id\":\"alpha-r1\",", "[1,2]", "{\"answer\":1} trailing", ""] {
            let outcome = engine.answerRecord(key: Fixtures.bytes("alice"), value: Fixtures.bytes(value), kafkaTimestampMs: 0)
            #expect(outcome == .rejected(.notJSON), "value: \(value)")
        }
        #expect(engine.badAnswers[.notJSON] == 5)
    }

    @Test func missingKeyIsRejectedAndCounted() {
        var engine = Fixtures.engineWithOpenQuestion()
        let value = Fixtures.answerValue("alpha-r1", 1)
        #expect(engine.answerRecord(key: nil, value: value, kafkaTimestampMs: 0) == .rejected(.missingKey))
        #expect(engine.answerRecord(key: [], value: value, kafkaTimestampMs: 0) == .rejected(.missingKey))
        #expect(engine.badAnswers[.missingKey] == 2)
    }

    @Test func missingFieldsAndInvalidAnswersAreRejected() {
        var engine = Fixtures.engineWithOpenQuestion()
        let cases: [(String, BadInputReason)] = [
            (#"{"answer":1}"#, .missingField),
            (#"{"question_id":"alpha-r1"}"#, .missingField),
            (#"{"question_id":"alpha-r1","answer":4}"#, .invalidAnswer),
            (#"{"question_id":"alpha-r1","answer":-1}"#, .invalidAnswer),
            (#"{"question_id":"alpha-r1","answer":"nope"}"#, .invalidAnswer),
            (#"{"question_id":"alpha-r1","answer":1.5}"#, .invalidAnswer),
        ]
        for (value, reason) in cases {
            let outcome = engine.answerRecord(key: Fixtures.bytes("dave"), value: Fixtures.bytes(value), kafkaTimestampMs: 0)
            #expect(outcome == .rejected(reason), "value: \(value)")
        }
        #expect(engine.answer("dave", 1) != .duplicate)
    }

    @Test func invalidUTF8KeyIsRejected() {
        var engine = Fixtures.engineWithOpenQuestion()
        let outcome = engine.answerRecord(key: [0xFF, 0xFE], value: Fixtures.answerValue("alpha-r1", 1), kafkaTimestampMs: 0)
        #expect(outcome == .rejected(.invalidKey))
    }

    @Test func badInputReportsAreRateLimited() {
        var engine = Fixtures.engineWithOpenQuestion()
        var reports: [BadInputReport] = []
        engine.badInputReporter = { reports.append($0) }
        for _ in 0..<20 {
            _ = engine.answerRecord(key: nil, value: Fixtures.bytes("x"), kafkaTimestampMs: 5_000)
        }
        _ = engine.answerRecord(key: nil, value: Fixtures.bytes("y"), kafkaTimestampMs: 6_000)
        #expect(reports.count == QuizConfiguration().badInputReportsPerSecond + 1)
        #expect(reports.last?.suppressed == 15)
        #expect(reports.last?.excerpt == "y")
        #expect(engine.badAnswers[.missingKey] == 21)
    }

    @Test func pointsAndTotalsAccumulateOverRounds() {
        var engine = Fixtures.engineWithOpenQuestion()
        _ = engine.answer("alice", 1)
        _ = engine.tick(nowMs: Fixtures.startMs + 20_000)
        #expect(engine.currentQuestion?.publishedID == "beta-r2")
        let second = Fixtures.result(engine.answer("alice", 3, atMs: Fixtures.startMs + 21_000))
        #expect(second?["points"] as? Int == 50)
        #expect(second?["total"] as? Int == 150)
        #expect(engine.total(of: "alice") == 150)
    }

    @Test func previousRoundStillAcceptsLaggingAnswersButNotOlderOnes() {
        var engine = Fixtures.engineWithOpenQuestion()
        _ = engine.tick(nowMs: Fixtures.startMs + 20_000)
        let lagging = engine.answerRecord(
            key: Fixtures.bytes("erin"), value: Fixtures.answerValue("alpha-r1", 1), kafkaTimestampMs: Fixtures.startMs + 9_000
        )
        #expect(Fixtures.result(lagging)?["points"] as? Int == 100)
        _ = engine.tick(nowMs: Fixtures.startMs + 40_000)
        let stale = engine.answerRecord(
            key: Fixtures.bytes("fred"), value: Fixtures.answerValue("alpha-r1", 1), kafkaTimestampMs: Fixtures.startMs + 9_000
        )
        #expect(stale == .rejected(.unknownQuestion))
    }
}

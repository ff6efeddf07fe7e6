import Testing
@testable import Quiz

@Suite struct PublishedQuestionTests {
    @Test func firstTickPublishesQuestionWithoutCorrectAnswer() throws {
        var engine = QuizEngine(bank: Fixtures.bank, configuration: Fixtures.configuration())
        let records = engine.tick(nowMs: Fixtures.startMs)
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.topic == .question)
        #expect(record.key == nil)
        let question = Fixtures.object(record.value)
        #expect(Set(question.keys) == ["id", "round", "question", "answers", "published_ms", "deadline_ms", "points"])
        #expect(question["id"] as? String == "alpha-r1")
        #expect(question["answers"] as? [String] == ["a0", "a1", "a2", "a3"])
        #expect(question["deadline_ms"] as? Int64 == Fixtures.startMs + 10_000)
        #expect(question["points"] as? Int == 100)
    }

    @Test func textIsEscaped() {
        var engine = QuizEngine(bank: Fixtures.bank, configuration: Fixtures.configuration())
        var texts: [String] = []
        for round in 0..<3 {
            for record in engine.tick(nowMs: Fixtures.startMs + Int64(round) * 20_000) where record.topic == .question {
                texts.append(Fixtures.object(record.value)["question"] as? String ?? "")
            }
        }
        #expect(texts == ["First?", "Second?", "Third \"quoted\"?"])
    }

    @Test func roundsFollowTheClockAndCycleThroughTheBank() {
        var engine = Fixtures.engineWithOpenQuestion()
        #expect(engine.tick(nowMs: Fixtures.startMs + 5_000).isEmpty)
        #expect(engine.nextTickMs == Fixtures.startMs + 12_000)
        let snapshot = engine.tick(nowMs: Fixtures.startMs + 12_000)
        #expect(snapshot.map(\.topic) == [.quizState])
        #expect(engine.nextTickMs == Fixtures.startMs + 20_000)
        for round in 1...3 {
            _ = engine.tick(nowMs: Fixtures.startMs + Int64(round) * 20_000)
        }
        #expect(engine.round == 4)
        #expect(engine.currentQuestion?.publishedID == "alpha-r4")
        #expect(engine.roundsPublished == 4)
    }
}

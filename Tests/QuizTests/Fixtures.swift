import Foundation
@testable import Quiz

enum Fixtures {
    static let bank = QuestionBank(questions: [
        Question(id: "alpha", text: "First?", answers: ["a0", "a1", "a2", "a3"], correctIndex: 1, points: 100),
        Question(id: "beta", text: "Second?", answers: ["b0", "b1", "b2", "b3"], correctIndex: 3, points: 50),
        Question(id: "gamma", text: "Third \"quoted\"?", answers: ["c0", "c1", "c2", "c3"], correctIndex: 0, points: 10),
    ])

    static let startMs: Int64 = 1_700_000_000_000

    static func configuration(top: Int = 10) -> QuizConfiguration {
        QuizConfiguration(roundMs: 20_000, answerWindowMs: 10_000, topCount: top)
    }

    /// An engine that has published its first question at `startMs`.
    static func engineWithOpenQuestion(top: Int = 10) -> QuizEngine {
        var engine = QuizEngine(bank: bank, configuration: configuration(top: top))
        _ = engine.tick(nowMs: startMs)
        return engine
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func answerValue(_ questionID: String, _ answer: Int) -> [UInt8] {
        bytes("{\"question_id\":\"\(questionID)\",\"answer\":\(answer)}")
    }

    static func object(_ value: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] ?? [:]
    }

    static func result(_ outcome: AnswerOutcome) -> [String: Any]? {
        guard case .scored(let record) = outcome else { return nil }
        return object(record.value)
    }
}

extension QuizEngine {
    /// Answers the open question in time, as `user`.
    mutating func answer(_ user: String, _ index: Int, atMs: Int64 = Fixtures.startMs + 1_000) -> AnswerOutcome {
        answerRecord(
            key: Fixtures.bytes(user), value: Fixtures.answerValue(currentQuestion!.publishedID, index),
            kafkaTimestampMs: atMs
        )
    }
}

import Testing
@testable import Quiz

/// A played game as Kafka would hold it: every record the engine produced, in order.
struct PlayedGame {
    var engine: QuizEngine
    var produced: [QuizRecord] = []
    var answers: [(key: [UInt8], value: [UInt8], timestampMs: Int64)] = []

    init(configuration: QuizConfiguration) {
        engine = QuizEngine(bank: Fixtures.bank, configuration: configuration)
    }

    mutating func tick(_ nowMs: Int64) {
        produced += engine.tick(nowMs: nowMs)
    }

    mutating func answer(_ user: String, _ index: Int, atMs: Int64) {
        let answer = (Fixtures.bytes(user), Fixtures.answerValue(engine.currentQuestion!.publishedID, index), atMs)
        answers.append(answer)
        if case .scored(let record) = engine.answerRecord(key: answer.0, value: answer.1, kafkaTimestampMs: atMs) {
            produced.append(record)
        }
    }

    /// A fresh engine restored the way the processors do at start.
    func restarted(configuration: QuizConfiguration) throws -> QuizEngine {
        var restored = QuizEngine(bank: Fixtures.bank, configuration: configuration)
        let states = produced.filter { $0.topic == .quizState }
        let last = try #require(states.last.flatMap { QuizSnapshotHeader(stateRecord: $0.value) })
        for record in states.suffix(last.part + 1) {
            try restored.restore(stateRecord: record.value)
        }
        if let question = produced.last(where: { $0.topic == .question }) {
            try restored.restore(questionRecord: question.value)
        }
        let snapshotIndex = try #require(produced.lastIndex { $0.topic == .quizState })
        for record in produced[(snapshotIndex + 1)...] where record.topic == .result {
            try restored.restore(resultKey: record.key, value: record.value)
        }
        return restored
    }
}

@Suite struct RestoreTests {
    let start = Fixtures.startMs

    func playTwoRounds(configuration: QuizConfiguration) -> PlayedGame {
        var game = PlayedGame(configuration: configuration)
        game.tick(start)
        for user in 0..<40 {
            game.answer("user\(user)", user % 3 == 0 ? 1 : 0, atMs: start + 1_000)
        }
        game.tick(start + 12_000)
        game.answer("late", 1, atMs: start + 13_000)
        game.tick(start + 20_000)
        for user in stride(from: 0, to: 40, by: 2) {
            game.answer("user\(user)", 3, atMs: start + 21_000)
        }
        return game
    }

    @Test func snapshotPlusLaterResultsRestoreIdenticalTotalsAndRanking() throws {
        let configuration = Fixtures.configuration(top: 10)
        var game = playTwoRounds(configuration: configuration)
        var restored = try game.restarted(configuration: configuration)
        for user in ["late"] + (0..<40).map({ "user\($0)" }) {
            #expect(restored.total(of: user) == game.engine.total(of: user), "user \(user)")
        }
        #expect(restored.topEntries() == game.engine.topEntries())
        #expect(restored.round == 2)
        #expect(restored.currentQuestion?.publishedID == "beta-r2")
    }

    @Test func redeliveredAnswersNeverScoreTwice() throws {
        let configuration = Fixtures.configuration()
        let game = playTwoRounds(configuration: configuration)
        var restored = try game.restarted(configuration: configuration)
        for answer in game.answers {
            let outcome = restored.answerRecord(key: answer.key, value: answer.value, kafkaTimestampMs: answer.timestampMs)
            #expect(outcome == .duplicate)
        }
        #expect(restored.total(of: "user0") == 150)
        let fresh = restored.answerRecord(
            key: Fixtures.bytes("user1"), value: Fixtures.answerValue("beta-r2", 3), kafkaTimestampMs: start + 22_000
        )
        #expect(Fixtures.result(fresh)?["total"] as? Int == 50)
    }

    @Test func restartContinuesTheOpenRoundInsteadOfRepublishing() throws {
        let configuration = Fixtures.configuration()
        let game = playTwoRounds(configuration: configuration)
        var restored = try game.restarted(configuration: configuration)
        #expect(restored.tick(nowMs: start + 25_000).isEmpty)
        let next = restored.tick(nowMs: start + 40_000)
        #expect(next.map(\.topic) == [.quizState, .question])
        #expect(Fixtures.object(next[1].value)["id"] as? String == "gamma-r3")
    }

    @Test func snapshotSplitIntoPartsRestoresEveryUser() throws {
        var configuration = Fixtures.configuration()
        configuration.snapshotPartBytes = 300
        var game = playTwoRounds(configuration: configuration)
        game.produced += game.engine.tick(nowMs: start + 32_000, resultPositions: [0: 57, 1: 3])
        let parts = game.produced.filter { $0.topic == .quizState }.compactMap { QuizSnapshotHeader(stateRecord: $0.value) }
        let last = try #require(parts.last)
        #expect(last.round == 2 && last.parts > 1 && last.part == last.parts - 1)
        var restored = try game.restarted(configuration: configuration)
        #expect(restored.userCount == game.engine.userCount)
        #expect(restored.topEntries() == game.engine.topEntries())
        #expect(restored.restoredSnapshotTakenAtMs == start + 32_000)
        #expect(restored.restoredResultPositions == [0: 57, 1: 3])
    }

    @Test func restoringTwiceChangesNothing() throws {
        let configuration = Fixtures.configuration()
        var game = playTwoRounds(configuration: configuration)
        var restored = try game.restarted(configuration: configuration)
        for record in game.produced where record.topic == .result || record.topic == .quizState {
            if record.topic == .result {
                try restored.restore(resultKey: record.key, value: record.value)
            } else {
                try restored.restore(stateRecord: record.value)
            }
        }
        #expect(restored.topEntries() == game.engine.topEntries())
        #expect(restored.total(of: "user0") == game.engine.total(of: "user0"))
    }

    @Test func malformedRecordsAreReportedNotApplied() {
        var engine = QuizEngine(bank: Fixtures.bank)
        #expect(throws: QuizRestoreError.notJSON(topic: .quizState)) { try engine.restore(stateRecord: Fixtures.bytes("x")) }
        #expect(throws: QuizRestoreError.unsupportedVersion(9)) { try engine.restore(stateRecord: Fixtures.bytes(#"{"v":9}"#)) }
        #expect(throws: QuizRestoreError.missingField(topic: .result, field: "key")) {
            try engine.restore(resultKey: nil, value: Fixtures.bytes("{}"))
        }
        #expect(throws: QuizRestoreError.missingField(topic: .result, field: "total")) {
            try engine.restore(resultKey: Fixtures.bytes("a"), value: Fixtures.bytes(#"{"question_id":"alpha-r1"}"#))
        }
        #expect(throws: QuizRestoreError.questionNotInBank(round: 5, id: "other-r5")) {
            try engine.restore(questionRecord: Fixtures.bytes(
                #"{"id":"other-r5","round":5,"published_ms":1,"deadline_ms":2}"#
            ))
        }
        #expect(engine.userCount == 0)
    }
}

import Foundation
import StadiumTestSupport
import Testing

/// stadium-processors against stadium-kafka, seen only through Kafka topics.
@Suite(.serialized) struct QuizThroughKafkaTests {
    static let arguments = ["--round", "6", "--answer-window", "3"]
    static let users = ["ana", "ben", "cleo", "dev"]

    /// Each user picks a different option, so exactly one of them is right.
    private func answerEveryOption(_ stack: QuizStack, _ question: Question) throws {
        for (option, user) in Self.users.enumerated() {
            try stack.answer(user, question: question.id, answer: option)
        }
    }

    private func result(_ stack: QuizStack, _ user: String, _ question: Question) throws -> OutputRecord {
        try stack.first(on: "result") { $0.key == user && $0.string("question_id") == question.id }
    }

    @Test func aRoundIsScoredAndRankedThroughKafkaAlone() throws {
        let stack = try QuizStack(processorArguments: Self.arguments)
        let question = try stack.nextQuestion()
        try answerEveryOption(stack, question)
        try stack.answer("ana", question: question.id, answer: 3)

        var winners: [String] = []
        for (option, user) in Self.users.enumerated() {
            let result = try result(stack, user, question)
            let correct = result.integer("correct_answer")!
            let points = option == Int(correct) ? question.points : 0
            #expect(result.integer("answer") == Int64(option))
            #expect(result.integer("points") == points, "\(user)")
            #expect(result.integer("total") == points, "\(user)")
            if points > 0 { winners.append(user) }
        }
        #expect(winners.count == 1, "one option is right")

        try waitUntil("the answer window to close", timeout: .seconds(30)) { nowMs() > question.deadlineMs + 500 }
        try stack.answer("eve", question: question.id, answer: 0)
        let late = try result(stack, "eve", question)
        #expect(late.bool("late") == true)
        #expect(late.integer("points") == 0)
        #expect(stack.results(for: "ana").count == 1, "the second answer of ana is ignored")

        try stack.getTop("ben")
        let top = try stack.first(on: "top") { $0.key == "ben" }
        let entries = top.object["top"] as? [[String: Any]] ?? []
        #expect(top.integer("score") == (winners == ["ben"] ? question.points : 0))
        #expect(entries.first?["name"] as? String == winners.first)
        #expect((entries.first?["score"] as? NSNumber)?.int64Value == question.points)
        #expect(Set(entries.compactMap { $0["name"] as? String }) == Set(Self.users + ["eve"]))
    }

    @Test func aRestartKeepsEveryTotalAndScoresNoAnswerTwice() throws {
        let stack = try QuizStack(processorArguments: Self.arguments)
        let first = try stack.nextQuestion()
        try answerEveryOption(stack, first)
        var totals: [String: Int64] = [:]
        for user in Self.users {
            totals[user] = try result(stack, user, first).integer("total")
        }

        #expect(try stack.stopProcessors() == 0, "SIGTERM is a clean stop")
        let restarted = ContinuousClock.now
        try stack.startProcessors()
        // The same answers again, now to a restarted processor: already scored, never again.
        try answerEveryOption(stack, first)
        let second = try stack.nextQuestion(after: [first.id])
        try answerEveryOption(stack, second)

        _ = try result(stack, Self.users[0], second)
        print("restart: first result of the next round \(ContinuousClock.now - restarted) after the processors started")
        for (option, user) in Self.users.enumerated() {
            let result = try result(stack, user, second)
            let points = option == Int(result.integer("correct_answer")!) ? second.points : 0
            totals[user]! += points
            #expect(result.integer("total") == totals[user]!, "\(user)'s total continues")
            // One partition per user: this result comes after anything the repeated answer caused.
            let firstRoundResults = stack.results(for: user).filter { $0.string("question_id") == first.id }
            #expect(firstRoundResults.count == 1, "\(user)'s first answer scored once")
        }
        try stack.getTop("ana")
        let top = try stack.first(on: "top") { $0.key == "ana" }
        #expect(top.integer("score") == totals["ana"], "the leaderboard holds both rounds")
    }
}

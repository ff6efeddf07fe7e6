import Foundation
import StadiumTestSupport
import Testing

/// Two stadium-processors --cluster in one consumer group, seen only through Kafka topics.
@Suite(.serialized) struct ProcessorsGroupTests {
    static let arguments = ["--cluster", "--round", "6", "--answer-window", "5"]
    /// Enough names that each of the three partitions holds some.
    static let users = (1...12).map { "player-\($0)" }

    private func answerAll(_ stack: QuizStack, _ question: Question, option: (Int) -> Int) throws {
        for (index, user) in Self.users.enumerated() {
            try stack.answer(user, question: question.id, answer: option(index))
        }
    }

    private func results(_ stack: QuizStack, _ question: Question) throws -> [String: OutputRecord] {
        var found: [String: OutputRecord] = [:]
        try waitUntil("every result of \(question.id)", timeout: .seconds(60)) {
            found = [:]
            for record in stack.records where record.topic == "result" && record.string("question_id") == question.id {
                found[record.key ?? ""] = record
            }
            return found.count == Self.users.count
        }
        return found
    }

    @Test func aKilledInstancesPartitionsMoveWithTheirScores() throws {
        let stack = try QuizStack(processorArguments: Self.arguments)
        let second = try ChildProcess("stadium-processors", stack.processorArguments)
        defer { _ = try? second.stop() }
        let first = try stack.nextQuestion()
        try answerAll(stack, first) { $0 % 4 }
        var totals: [String: Int64] = [:]
        for (user, result) in try results(stack, first) {
            totals[user] = result.integer("total")
        }

        // Whichever instance holds what, the other one takes over all of it.
        stack.killProcessors()
        let killed = ContinuousClock.now
        // The same answers again: the survivor restores the moved partitions' scores first.
        try answerAll(stack, first) { $0 % 4 }
        let next = try stack.nextQuestion(after: [first.id])
        try answerAll(stack, next) { ($0 + 1) % 4 }
        let rounds = try [first, next].map { question in
            try stack.first(on: "question") { $0.string("id") == question.id }.integer("round")
        }
        #expect(rounds[1] == rounds[0].map { $0 + 1 }, "the question sequence continues")
        let nextResults = try results(stack, next)
        print("group: results of the next round \(ContinuousClock.now - killed) after the kill")
        for user in Self.users {
            let result = try #require(nextResults[user])
            totals[user]! += result.integer("points")!
            #expect(result.integer("total") == totals[user], "\(user)'s total continues")
            let firstResults = stack.results(for: user).filter { $0.string("question_id") == first.id }
            #expect(firstResults.count == 1, "\(user)'s first answer scored once")
        }

        // The top of every partition, whichever instance answers.
        try stack.getTop(Self.users[0])
        let top = try stack.first(on: "top") { $0.key == Self.users[0] }
        let names = Set((top.object["top"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        let best = totals.sorted { $0.value > $1.value }.prefix(10).map(\.value)
        #expect(top.integer("score") == totals[Self.users[0]])
        #expect(names.count == 10)
        #expect((top.object["top"] as? [[String: Any]] ?? []).compactMap { ($0["score"] as? NSNumber)?.int64Value } == Array(best))
    }
}

/// How a bot answers a question: after a random think time, before the deadline, once.
///
/// A bot cannot see the correct answer: the question never carries it. So a bot only
/// recalls answers its fleet learned from earlier results for the same question text
/// (the bank repeats), with probability `recallProbability`; otherwise it picks uniformly.
public struct AnswerPolicy: Equatable, Sendable {
    public var thinkTimeMs: ClosedRange<Int64>
    /// Answers are sent at least this long before the deadline, to allow for transit.
    public var deadlineMarginMs: Int64
    public var recallProbability: Double

    public init(thinkTimeMs: ClosedRange<Int64> = 0...10_000, deadlineMarginMs: Int64 = 300, recallProbability: Double = 0.6) {
        precondition(thinkTimeMs.lowerBound >= 0, "think time cannot be negative")
        precondition((0...1).contains(recallProbability), "recall probability lies in 0...1")
        self.thinkTimeMs = thinkTimeMs
        self.deadlineMarginMs = deadlineMarginMs
        self.recallProbability = recallProbability
    }

    /// The answer to send and when, or nil when the bot must not answer: it already did,
    /// or the deadline (less the margin) has passed.
    public func plan<Generator: RandomNumberGenerator>(
        _ question: QuestionOffer, nowMs: Int64, alreadyAnswered: Bool, knownCorrect: Int?,
        using generator: inout Generator
    ) -> PlannedAnswer? {
        guard !alreadyAnswered, question.answerCount > 0 else { return nil }
        let latest = question.deadlineMs - deadlineMarginMs
        guard nowMs < latest else { return nil }
        let think = Int64.random(in: thinkTimeMs, using: &generator)
        let due = min(nowMs + think, latest)
        let answer: Int
        if let knownCorrect, (0..<question.answerCount).contains(knownCorrect),
           Double.random(in: 0..<1, using: &generator) < recallProbability {
            answer = knownCorrect
        } else {
            answer = Int.random(in: 0..<question.answerCount, using: &generator)
        }
        return PlannedAnswer(dueMs: due, answer: answer)
    }
}

public struct PlannedAnswer: Equatable, Sendable {
    /// Wall-clock milliseconds at which to send it.
    public let dueMs: Int64
    /// Index into the question's answers.
    public let answer: Int

    public init(dueMs: Int64, answer: Int) {
        self.dueMs = dueMs
        self.answer = answer
    }
}

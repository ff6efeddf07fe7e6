import LoadGenerator
import Testing

@Suite struct AnswerPolicyTests {
    let question = QuestionOffer(
        idJSON: Array("\"q-7\"".utf8), text: "Capital of France?", answerCount: 4, deadlineMs: 20_000, publishedMs: 10_000)

    @Test func answersWithinTheThinkTimeAndBeforeTheDeadline() {
        let policy = AnswerPolicy(thinkTimeMs: 0...10_000, deadlineMarginMs: 300, recallProbability: 0)
        for seed in 0..<200 {
            var random = SplitMix64(seed: UInt64(seed))
            let plan = policy.plan(question, nowMs: 10_000, alreadyAnswered: false, knownCorrect: nil, using: &random)
            let due = try! #require(plan).dueMs
            #expect(due >= 10_000)
            #expect(due <= 19_700)
            #expect((0..<4).contains(plan!.answer))
        }
    }

    @Test func neverAnswersTheSameQuestionTwice() {
        var random = SplitMix64(seed: 1)
        let plan = AnswerPolicy().plan(question, nowMs: 10_000, alreadyAnswered: true, knownCorrect: nil, using: &random)
        #expect(plan == nil)
    }

    @Test func skipsAQuestionWhoseDeadlineHasPassed() {
        var random = SplitMix64(seed: 2)
        let policy = AnswerPolicy(deadlineMarginMs: 300)
        #expect(policy.plan(question, nowMs: 20_001, alreadyAnswered: false, knownCorrect: nil, using: &random) == nil)
        #expect(policy.plan(question, nowMs: 19_800, alreadyAnswered: false, knownCorrect: nil, using: &random) == nil)
    }

    @Test func aRetainedQuestionStillOpenIsAnsweredBeforeItsDeadline() {
        var random = SplitMix64(seed: 3)
        let policy = AnswerPolicy(thinkTimeMs: 10_000...10_000, deadlineMarginMs: 300, recallProbability: 0)
        let plan = policy.plan(question, nowMs: 18_000, alreadyAnswered: false, knownCorrect: nil, using: &random)
        #expect(plan?.dueMs == 19_700)
    }

    @Test func recallsALearnedAnswerWhenTheProbabilityIsOne() {
        let policy = AnswerPolicy(recallProbability: 1)
        for seed in 0..<50 {
            var random = SplitMix64(seed: UInt64(seed))
            let plan = policy.plan(question, nowMs: 10_000, alreadyAnswered: false, knownCorrect: 2, using: &random)
            #expect(plan?.answer == 2)
        }
    }

    @Test func withoutRecallEveryOptionGetsChosen() {
        let policy = AnswerPolicy(recallProbability: 0)
        var chosen = Set<Int>()
        for seed in 0..<200 {
            var random = SplitMix64(seed: UInt64(seed))
            if let plan = policy.plan(question, nowMs: 10_000, alreadyAnswered: false, knownCorrect: 2, using: &random) {
                chosen.insert(plan.answer)
            }
        }
        #expect(chosen == [0, 1, 2, 3])
    }

    @Test func aKnownAnswerOutsideTheOptionsIsIgnored() {
        var random = SplitMix64(seed: 4)
        let plan = AnswerPolicy(recallProbability: 1).plan(
            question, nowMs: 10_000, alreadyAnswered: false, knownCorrect: 9, using: &random)
        #expect((0..<4).contains(plan!.answer))
    }

    @Test func theFleetLearnsAnswersFromResults() {
        let knowledge = AnswerKnowledge()
        #expect(knowledge.correctAnswer(for: question) == nil)
        knowledge.noteQuestion(question)
        knowledge.learn(ResultNotice(questionIDJSON: question.idJSON, answer: 1, correctAnswer: 3, points: 0, total: 0))
        let repeated = QuestionOffer(
            idJSON: Array("\"q-42\"".utf8), text: question.text, answerCount: 4, deadlineMs: 90_000, publishedMs: nil)
        #expect(knowledge.correctAnswer(for: repeated) == 3)
    }
}

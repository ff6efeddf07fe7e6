// What one ring's bots have learned from results: question text -> correct index.
import Synchronization

public final class AnswerKnowledge: Sendable {
    private struct State {
        var textByQuestionID: [[UInt8]: String] = [:]
        var correctByText: [String: Int] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Remembers which text a question id stands for, so its result can be learned.
    public func noteQuestion(_ question: QuestionOffer) {
        state.withLock { state in
            if state.textByQuestionID[question.idJSON] == nil {
                state.textByQuestionID[question.idJSON] = question.text
            }
        }
    }

    public func learn(_ result: ResultNotice) {
        state.withLock { state in
            guard let text = state.textByQuestionID[result.questionIDJSON], result.correctAnswer >= 0 else { return }
            state.correctByText[text] = Int(result.correctAnswer)
        }
    }

    public func correctAnswer(for question: QuestionOffer) -> Int? {
        state.withLock { $0.correctByText[question.text] }
    }
}

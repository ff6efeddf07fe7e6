import QuizRecords
import StadiumProtocol

/// A published question whose answers are still accepted (the current and the previous
/// round, so a consumer lagging by less than one round loses nothing).
struct OpenRound {
    let round: Int
    let question: Question
    /// Published id: bank id plus round, unique even when the bank cycles.
    let publishedID: String
    let publishedMs: Int64
    let deadlineMs: Int64
    var answered = AnsweredSet()
    var snapshotTaken = false

    init(round: Int, question: Question, publishedMs: Int64, deadlineMs: Int64) {
        self.round = round
        self.question = question
        publishedID = Self.publishedID(questionID: question.id, round: round)
        self.publishedMs = publishedMs
        self.deadlineMs = deadlineMs
    }

    static func publishedID(questionID: String, round: Int) -> String {
        "\(questionID)-r\(round)"
    }

    /// The round a published id names (the digits after its last `-r`), if it has that form.
    static func round(inPublishedID id: ArraySlice<UInt8>) -> Int? {
        guard let dash = id.lastIndex(of: UInt8(ascii: "-")), id.index(after: dash) < id.endIndex,
              id[id.index(after: dash)] == UInt8(ascii: "r")
        else { return nil }
        let digits = id[(dash + 2)...]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    /// The answer index named by an answer's `answer` value: an index or an answer's exact text.
    func answerIndex(_ value: JSONValueSpan, in bytes: RawSpan) -> Int? {
        switch value.kind {
        case .number:
            guard let index = value.int64(in: bytes) else { return nil }
            return (0..<Int64(Question.answerCount)).contains(index) ? Int(index) : nil
        case .string:
            return question.answers.firstIndex { value.isString($0, in: bytes) }
        default:
            return nil
        }
    }

    /// What the `question` topic carries for this round.
    var record: QuestionRecord {
        QuestionRecord(
            id: publishedID, round: round, question: question.text, answers: question.answers,
            publishedMs: publishedMs, deadlineMs: deadlineMs, points: question.points)
    }
}

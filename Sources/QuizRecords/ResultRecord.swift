import StadiumProtocol

/// Topic `result` (subject `/result/<user>`, key = user), one per scored answer:
/// `{"question_id","answer","correct_answer","points","total","late","seq"}` (docs/QUIZ.md).
public struct ResultRecord: Equatable, Sendable {
    public var questionID: String
    /// The index of the answer given (also when it was sent as text).
    public var answer: Int
    public var correctAnswer: Int
    public var points: Int64
    /// The player's total over all rounds, this answer included.
    public var total: Int64
    public var late: Bool
    /// The processors' scoring sequence: orders leaderboard ties, also after a restore.
    public var sequence: Int64

    public init(
        questionID: String, answer: Int, correctAnswer: Int, points: Int64, total: Int64, late: Bool, sequence: Int64
    ) {
        self.questionID = questionID
        self.answer = answer
        self.correctAnswer = correctAnswer
        self.points = points
        self.total = total
        self.late = late
        self.sequence = sequence
    }

    public var isCorrect: Bool { answer == correctAnswer }

    public func encoded() -> [UInt8] {
        var json: [UInt8] = []
        json.appendJSON { writer in
            writer.append("{\"question_id\":")
            writer.appendString(questionID)
            writer.append(",\"answer\":")
            writer.append(Int64(answer))
            writer.append(",\"correct_answer\":")
            writer.append(Int64(correctAnswer))
            writer.append(",\"points\":")
            writer.append(points)
            writer.append(",\"total\":")
            writer.append(total)
            writer.append(late ? ",\"late\":true,\"seq\":" : ",\"late\":false,\"seq\":")
            writer.append(sequence)
            writer.append(UInt8(ascii: "}"))
        }
        return json
    }

    /// Reads `range` of `bytes`; other fields are ignored.
    public init(json bytes: RawSpan, range: Range<Int>) throws(QuizRecordError) {
        var questionID: String?
        var answer: Int64?
        var correctAnswer: Int64?
        var points: Int64?
        var total: Int64?
        var late: Bool?
        var sequence: Int64?
        self = try decodeRecord(bytes, range: range) { member in
            let value = member.value
            if member.name.names("question_id", in: bytes) { questionID = value.string(in: bytes) }
            else if member.name.names("answer", in: bytes) { answer = value.int64(in: bytes) }
            else if member.name.names("correct_answer", in: bytes) { correctAnswer = value.int64(in: bytes) }
            else if member.name.names("points", in: bytes) { points = value.int64(in: bytes) }
            else if member.name.names("total", in: bytes) { total = value.int64(in: bytes) }
            else if member.name.names("late", in: bytes) { late = value.bool(in: bytes) }
            else if member.name.names("seq", in: bytes) { sequence = value.int64(in: bytes).flatMap { $0 >= 0 ? $0 : nil } }
        } build: { () throws(QuizRecordError) -> ResultRecord in
            // What a restart needs is checked first, so its errors name those fields.
            let questionID = try required(questionID, "question_id")
            let total = try required(total, "total")
            let sequence = try required(sequence, "seq")
            return ResultRecord(
                questionID: questionID, answer: Int(clamping: try required(answer, "answer")),
                correctAnswer: Int(clamping: try required(correctAnswer, "correct_answer")),
                points: try required(points, "points"), total: total, late: try required(late, "late"), sequence: sequence)
        }
    }

    public init(json value: [UInt8]) throws(QuizRecordError) {
        self = try value.decodeRecord { (bytes, range) throws(QuizRecordError) in try ResultRecord(json: bytes, range: range) }
    }
}

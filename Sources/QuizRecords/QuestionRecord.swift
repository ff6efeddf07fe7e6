import StadiumProtocol

/// Topic `question` (subject `/question`), one per round; never the correct answer:
/// `{"id","round","question","answers":[...],"published_ms","deadline_ms","points"}` (docs/QUIZ.md).
public struct QuestionRecord: Equatable, Sendable {
    /// The bank's id, `-r`, the round: answers name it.
    public var id: String
    public var round: Int
    public var question: String
    public var answers: [String]
    public var publishedMs: Int64
    /// Answers after it (wall-clock ms) score nothing.
    public var deadlineMs: Int64
    public var points: Int64

    public init(
        id: String, round: Int, question: String, answers: [String], publishedMs: Int64, deadlineMs: Int64,
        points: Int64
    ) {
        self.id = id
        self.round = round
        self.question = question
        self.answers = answers
        self.publishedMs = publishedMs
        self.deadlineMs = deadlineMs
        self.points = points
    }

    public func encoded() -> [UInt8] {
        var json: [UInt8] = []
        json.appendJSON { writer in
            writer.append("{\"id\":")
            writer.appendString(id)
            writer.append(",\"round\":")
            writer.append(Int64(round))
            writer.append(",\"question\":")
            writer.appendString(question)
            writer.append(",\"answers\":[")
            for (index, answer) in answers.enumerated() {
                if index > 0 { writer.append(UInt8(ascii: ",")) }
                writer.appendString(answer)
            }
            writer.append("],\"published_ms\":")
            writer.append(publishedMs)
            writer.append(",\"deadline_ms\":")
            writer.append(deadlineMs)
            writer.append(",\"points\":")
            writer.append(points)
            writer.append(UInt8(ascii: "}"))
        }
        return json
    }

    /// Reads `range` of `bytes`; other fields are ignored.
    public init(json bytes: RawSpan, range: Range<Int>) throws(QuizRecordError) {
        let fields = try Fields(json: bytes, range: range)
        self.init(
            id: try required(fields.id, "id"), round: Int(clamping: try required(fields.round, "round")),
            question: try required(fields.question, "question"), answers: try required(fields.answers, "answers"),
            publishedMs: try required(fields.publishedMs, "published_ms"),
            deadlineMs: try required(fields.deadlineMs, "deadline_ms"), points: try required(fields.points, "points"))
    }

    public init(json value: [UInt8]) throws(QuizRecordError) {
        self = try value.decodeRecord { (bytes, range) throws(QuizRecordError) in try QuestionRecord(json: bytes, range: range) }
    }

    /// The fields of a question value as found (nil: absent or mistyped), for a reader that needs
    /// only some of them: a restart reads back the schedule, not the texts.
    public struct Fields: Sendable {
        public var id: String?
        public var round: Int64?
        public var question: String?
        public var answers: [String]?
        public var publishedMs: Int64?
        public var deadlineMs: Int64?
        public var points: Int64?

        public init(json bytes: RawSpan, range: Range<Int>) throws(QuizRecordError) {
            var fields = Fields()
            guard JSONScanner.forEachMember(of: bytes, range: range, { member in
                let value = member.value
                if member.name.names("id", in: bytes) { fields.id = value.string(in: bytes) }
                else if member.name.names("round", in: bytes) { fields.round = value.int64(in: bytes) }
                else if member.name.names("question", in: bytes) { fields.question = value.string(in: bytes) }
                else if member.name.names("answers", in: bytes) { fields.answers = Fields.strings(value, in: bytes) }
                else if member.name.names("published_ms", in: bytes) { fields.publishedMs = value.int64(in: bytes) }
                else if member.name.names("deadline_ms", in: bytes) { fields.deadlineMs = value.int64(in: bytes) }
                else if member.name.names("points", in: bytes) { fields.points = value.int64(in: bytes) }
            }) else { throw .notJSON }
            self = fields
        }

        public init(json value: [UInt8]) throws(QuizRecordError) {
            self = try value.decodeRecord { (bytes, range) throws(QuizRecordError) in try Fields(json: bytes, range: range) }
        }

        private init() {}

        /// An array of strings; nil when it is not one.
        private static func strings(_ span: JSONValueSpan, in bytes: RawSpan) -> [String]? {
            var strings: [String] = []
            var allStrings = true
            let isArray = span.forEachElement(in: bytes) { element in
                if let text = element.string(in: bytes) { strings.append(text) } else { allStrings = false }
            }
            return isArray && allStrings ? strings : nil
        }
    }
}

/// What became of one answer record.
public enum AnswerOutcome: Equatable {
    /// Counted: produce this `result` record.
    case scored(QuizRecord)
    /// The user already answered this question: ignored.
    case duplicate
    /// The answer names the round after the newest one known here (asked for with
    /// `deferLaterRounds`): not counted yet; try again once that question is known.
    case laterRound(Int)
    /// Bad input, counted in `badAnswers`.
    case rejected(BadInputReason)
}

extension QuizEngine {
    static let questionIDField = Array("question_id".utf8)
    static let answerField = Array("answer".utf8)

    /// Scores one record of topic `answer`: key = user, value
    /// `{"question_id": "<published id>", "answer": <index 0...3 or the exact answer text>}`.
    /// Lateness is judged by the record's Kafka timestamp against the question's deadline.
    /// Allocates only the result record (and table growth when a user is first seen).
    /// With `deferLaterRounds`, an answer naming the next round returns `.laterRound` instead of
    /// being rejected: processors that learn questions from Kafka may see an answer first. Only
    /// the next one: no answer can name a question further ahead, so those are bad input.
    public mutating func answerRecord(
        key: [UInt8]?, value: [UInt8], kafkaTimestampMs: Int64, deferLaterRounds: Bool = false
    ) -> AnswerOutcome {
        guard let key, !key.isEmpty else {
            return rejectAnswer(.missingKey, value: value, atMs: kafkaTimestampMs)
        }
        var questionRange: Range<Int>?
        var answer: JSONScalar?
        let scanner: FlatJSONObjectScanner
        do {
            var fields = try FlatJSONObjectScanner(value)
            while let field = try fields.nextField() {
                if fields.equals(field.key, Self.questionIDField), case .string(let range, _) = field.value {
                    questionRange = range
                } else if fields.equals(field.key, Self.answerField) {
                    answer = field.value
                }
            }
            scanner = fields
        } catch {
            return rejectAnswer(.notJSON, value: value, atMs: kafkaTimestampMs)
        }
        guard let questionRange, let answer else {
            return rejectAnswer(.missingField, value: value, atMs: kafkaTimestampMs)
        }
        guard let slot = openRounds.firstIndex(where: { scanner.equals(questionRange, $0.publishedIDBytes) }) else {
            if deferLaterRounds, let named = OpenRound.round(inPublishedID: value[questionRange]), named == round + 1 {
                return .laterRound(named)
            }
            return rejectAnswer(.unknownQuestion, value: value, atMs: kafkaTimestampMs)
        }
        guard let answerIndex = openRounds[slot].answerIndex(answer, in: scanner) else {
            return rejectAnswer(.invalidAnswer, value: value, atMs: kafkaTimestampMs)
        }
        guard let user = users.intern(key, admit: UTF8Validation.isValid) else {
            return rejectAnswer(.invalidKey, value: value, atMs: kafkaTimestampMs)
        }
        guard openRounds[slot].answered.insert(user) else {
            duplicateAnswers += 1
            return .duplicate
        }
        let late = kafkaTimestampMs > openRounds[slot].deadlineMs
        let correctIndex = openRounds[slot].question.correctIndex
        let points = !late && answerIndex == correctIndex ? openRounds[slot].question.points : 0
        scoreSequence = configuration.timeOrderedSequence
            ? max(scoreSequence + 1, UInt64(max(kafkaTimestampMs, 0)) << 10) : scoreSequence + 1
        if configuration.keepsChangelog { changedUsers.append(user) }
        leaderboard.record(points: points, for: user, sequence: scoreSequence)
        answersScored += 1
        if late { lateAnswers += 1 }
        resultsProduced += 1
        let result = QuizRecordEncoding.result(
            publishedID: openRounds[slot].publishedIDBytes, answer: answerIndex, correctAnswer: correctIndex,
            points: points, total: leaderboard.total(of: user), late: late, sequence: scoreSequence
        )
        return .scored(QuizRecord(topic: .result, key: key, value: result))
    }

    private mutating func rejectAnswer(_ reason: BadInputReason, value: [UInt8], atMs: Int64) -> AnswerOutcome {
        reject(reason, source: .answer, value: value, atMs: atMs)
        return .rejected(reason)
    }
}

import QuizRecords
import StadiumProtocol

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
        let slot: Int
        let answerIndex: Int
        switch parseAnswer(value.span.bytes, deferLaterRounds: deferLaterRounds) {
        case .rejected(let reason): return rejectAnswer(reason, value: value, atMs: kafkaTimestampMs)
        case .laterRound(let named): return .laterRound(named)
        case .valid(let openSlot, let index): (slot, answerIndex) = (openSlot, index)
        }
        guard let user = users.intern(key, admit: { UTF8Sequence.isValid($0.span.bytes) }) else {
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
        let result = ResultRecord(
            questionID: openRounds[slot].publishedID, answer: answerIndex, correctAnswer: correctIndex,
            points: points, total: leaderboard.total(of: user), late: late, sequence: Int64(clamping: scoreSequence)
        ).encoded()
        return .scored(QuizRecord(topic: .result, key: key, value: result))
    }

    private enum ParsedAnswer {
        case rejected(BadInputReason)
        case laterRound(Int)
        case valid(slot: Int, answerIndex: Int)
    }

    /// Which open round an answer value names and which answer it gives.
    private func parseAnswer(_ bytes: RawSpan, deferLaterRounds: Bool) -> ParsedAnswer {
        var questionID: JSONValueSpan?
        var answer: JSONValueSpan?
        let isObject = JSONScanner.forEachMember(of: bytes, range: 0..<bytes.byteCount) { member in
            if member.name.isString("question_id", in: bytes) {
                if member.value.kind == .string { questionID = member.value }
            } else if member.name.isString("answer", in: bytes) {
                answer = member.value
            }
        }
        guard isObject else { return .rejected(.notJSON) }
        guard let questionID, let answer else { return .rejected(.missingField) }
        guard let slot = openRounds.firstIndex(where: { questionID.isString($0.publishedID, in: bytes) }) else {
            if deferLaterRounds, let id = questionID.string(in: bytes),
               let named = OpenRound.round(inPublishedID: Array(id.utf8)[...]), named == round + 1
            {
                return .laterRound(named)
            }
            return .rejected(.unknownQuestion)
        }
        guard let answerIndex = openRounds[slot].answerIndex(answer, in: bytes) else { return .rejected(.invalidAnswer) }
        return .valid(slot: slot, answerIndex: answerIndex)
    }

    private mutating func rejectAnswer(_ reason: BadInputReason, value: [UInt8], atMs: Int64) -> AnswerOutcome {
        reject(reason, source: .answer, value: value, atMs: atMs)
        return .rejected(reason)
    }
}

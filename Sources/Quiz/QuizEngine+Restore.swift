import Foundation
import QuizRecords
import StadiumProtocol

extension QuizEngine {
    /// Merges one part of a snapshot (any order, any number of times).
    public mutating func restore(stateRecord value: [UInt8]) throws(QuizRestoreError) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] else {
            throw .notJSON(topic: .quizState)
        }
        func integer(_ field: String, in object: [String: Any]) throws(QuizRestoreError) -> Int64 {
            guard let number = object[field] as? NSNumber else { throw .missingField(topic: .quizState, field: field) }
            return number.int64Value
        }
        let version = try integer("v", in: object)
        guard version == QuizSnapshotHeader.version else { throw .unsupportedVersion(Int(version)) }
        let snapshotRound = Int(try integer("round", in: object))
        let takenAtMs = try integer("taken_at_ms", in: object)
        scoreSequence = max(scoreSequence, UInt64(max(try integer("seq", in: object), 0)))
        restoredSnapshotTakenAtMs = max(restoredSnapshotTakenAtMs ?? .min, takenAtMs)

        for pair in object["result_offsets"] as? [[NSNumber]] ?? [] where pair.count == 2 {
            let partition = pair[0].int32Value
            restoredResultPositions[partition] = max(restoredResultPositions[partition] ?? 0, pair[1].int64Value)
        }

        guard let roundObjects = object["rounds"] as? [[String: Any]] else {
            throw .missingField(topic: .quizState, field: "rounds")
        }
        var roundNumbers: [Int?] = []
        for roundObject in roundObjects {
            let round = Int(try integer("round", in: roundObject))
            guard let id = roundObject["id"] as? String else { throw .missingField(topic: .quizState, field: "id") }
            let adopted = adoptRound(
                round, publishedID: id, publishedMs: try integer("published_ms", in: roundObject),
                deadlineMs: try integer("deadline_ms", in: roundObject), snapshotTaken: round <= snapshotRound
            )
            roundNumbers.append(adopted ? round : nil)
        }

        guard let userEntries = object["users"] as? [[Any]] else {
            throw .missingField(topic: .quizState, field: "users")
        }
        for entry in userEntries {
            guard entry.count == 4, let name = entry[0] as? String, let total = entry[1] as? NSNumber,
                  let reached = entry[2] as? NSNumber, let mask = entry[3] as? NSNumber
            else { throw .missingField(topic: .quizState, field: "users") }
            guard let user = users.intern(Array(name.utf8)) else { continue }
            leaderboard.merge(total: total.int64Value, reached: reached.uint64Value, for: user)
            for (bit, round) in roundNumbers.enumerated() where mask.intValue & (1 << bit) != 0 {
                guard let round, let slot = openRounds.firstIndex(where: { $0.round == round }) else { continue }
                openRounds[slot].answered.insert(user)
            }
        }
    }

    /// Restores the last `question` record, so a restart continues the round in progress
    /// instead of publishing a new question.
    public mutating func restore(questionRecord value: [UInt8]) throws(QuizRestoreError) {
        let fields: QuestionRecord.Fields
        do {
            fields = try QuestionRecord.Fields(json: value)
        } catch {
            throw QuizRestoreError(error, topic: .question)
        }
        // Only the schedule is read back: the texts come from the bank.
        guard let id = fields.id else { throw .missingField(topic: .question, field: "id") }
        guard let round = fields.round.map({ Int(clamping: $0) }) else { throw .missingField(topic: .question, field: "round") }
        guard let publishedMs = fields.publishedMs else { throw .missingField(topic: .question, field: "published_ms") }
        guard let deadlineMs = fields.deadlineMs else { throw .missingField(topic: .question, field: "deadline_ms") }
        let adopted = adoptRound(round, publishedID: id, publishedMs: publishedMs, deadlineMs: deadlineMs, snapshotTaken: false)
        if !adopted && !openRounds.contains(where: { $0.round == round }) && round > self.round {
            throw .questionNotInBank(round: round, id: id)
        }
    }

    /// Merges one `result` record written before the restart: the user's total and the
    /// fact that they answered that question.
    public mutating func restore(resultKey key: [UInt8]?, value: [UInt8]) throws(QuizRestoreError) {
        guard let key, !key.isEmpty, UTF8Sequence.isValid(key.span.bytes) else {
            throw .missingField(topic: .result, field: "key")
        }
        let record: ResultRecord
        do {
            record = try ResultRecord(json: value)
        } catch {
            throw QuizRestoreError(error, topic: .result)
        }
        guard let user = users.intern(key) else { return }
        leaderboard.merge(total: record.total, reached: UInt64(record.sequence), for: user)
        scoreSequence = max(scoreSequence, UInt64(record.sequence))
        if let slot = openRounds.firstIndex(where: { $0.publishedID == record.questionID }) {
            openRounds[slot].answered.insert(user)
        }
    }

    /// Adds a round read back from Kafka if the bank still has the same question for it.
    private mutating func adoptRound(
        _ round: Int, publishedID: String, publishedMs: Int64, deadlineMs: Int64, snapshotTaken: Bool
    ) -> Bool {
        guard round > 0 else { return false }
        let question = question(forRound: round)
        guard OpenRound.publishedID(questionID: question.id, round: round) == publishedID else { return false }
        if let slot = openRounds.firstIndex(where: { $0.round == round }) {
            openRounds[slot].snapshotTaken = openRounds[slot].snapshotTaken || snapshotTaken
            return true
        }
        var opened = OpenRound(round: round, question: question, publishedMs: publishedMs, deadlineMs: deadlineMs)
        opened.snapshotTaken = snapshotTaken
        return insertOpenRound(opened)
    }
}

extension QuizEngine {
    /// The `round` of a `question` record, nil if the value is not one.
    public static func round(ofQuestionRecord value: [UInt8]) -> Int? {
        guard let round = (try? QuestionRecord.Fields(json: value))?.round, round > 0 else { return nil }
        return Int(clamping: round)
    }
}

import Foundation

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
        guard let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] else {
            throw .notJSON(topic: .question)
        }
        func integer(_ field: String) throws(QuizRestoreError) -> Int64 {
            guard let number = object[field] as? NSNumber else { throw .missingField(topic: .question, field: field) }
            return number.int64Value
        }
        guard let id = object["id"] as? String else { throw .missingField(topic: .question, field: "id") }
        let round = Int(try integer("round"))
        let adopted = adoptRound(
            round, publishedID: id, publishedMs: try integer("published_ms"),
            deadlineMs: try integer("deadline_ms"), snapshotTaken: false
        )
        if !adopted && !openRounds.contains(where: { $0.round == round }) && round > self.round {
            throw .questionNotInBank(round: round, id: id)
        }
    }

    /// Merges one `result` record written before the restart: the user's total and the
    /// fact that they answered that question.
    public mutating func restore(resultKey key: [UInt8]?, value: [UInt8]) throws(QuizRestoreError) {
        guard let key, !key.isEmpty, UTF8Validation.isValid(key) else {
            throw .missingField(topic: .result, field: "key")
        }
        var questionRange: Range<Int>?
        var total: Int64?
        var sequence: Int64?
        let scanner: FlatJSONObjectScanner
        do {
            var fields = try FlatJSONObjectScanner(value)
            while let field = try fields.nextField() {
                switch field.value {
                case .string(let range, _) where fields.equals(field.key, Self.questionIDField): questionRange = range
                case .integer(let number) where fields.equals(field.key, Array("total".utf8)): total = number
                case .integer(let number) where fields.equals(field.key, Array("seq".utf8)): sequence = number
                default: continue
                }
            }
            scanner = fields
        } catch {
            throw .notJSON(topic: .result)
        }
        guard let questionRange else { throw .missingField(topic: .result, field: "question_id") }
        guard let total else { throw .missingField(topic: .result, field: "total") }
        guard let sequence, sequence >= 0 else { throw .missingField(topic: .result, field: "seq") }
        guard let user = users.intern(key) else { return }
        leaderboard.merge(total: total, reached: UInt64(sequence), for: user)
        scoreSequence = max(scoreSequence, UInt64(sequence))
        if let slot = openRounds.firstIndex(where: { scanner.equals(questionRange, $0.publishedIDBytes) }) {
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
        do {
            var fields = try FlatJSONObjectScanner(value)
            while let field = try fields.nextField() {
                if fields.equals(field.key, Array("round".utf8)), case .integer(let round) = field.value, round > 0 {
                    return Int(clamping: round)
                }
            }
        } catch {
            return nil
        }
        return nil
    }
}

extension QuizEngine {
    /// One key for every part: parts land in one partition, in order, so the last snapshot is
    /// the topic's tail. `quiz-state` must therefore not be compacted.
    public static let snapshotKey = Array("snapshot".utf8)

    /// The `quiz-state` records of a snapshot taken now (format in `QuizSnapshotHeader`).
    func snapshotRecords(takenAtMs: Int64, resultPositions: [Int32: Int64]) -> [QuizRecord] {
        var userChunks: [[UInt8]] = []
        var chunk: [UInt8] = []
        let chunkLimit = max(configuration.snapshotPartBytes - 1024, 256)
        for user in 0..<users.count {
            var mask = 0
            for (bit, opened) in openRounds.enumerated() where opened.answered.contains(user) {
                mask |= 1 << bit
            }
            if !chunk.isEmpty {
                if chunk.count >= chunkLimit {
                    userChunks.append(chunk)
                    chunk = []
                } else {
                    chunk.append(UInt8(ascii: ","))
                }
            }
            chunk.append(UInt8(ascii: "["))
            chunk.appendJSONString(utf8: users.names[user])
            chunk.append(UInt8(ascii: ","))
            chunk.appendDecimal(leaderboard.total(of: user))
            chunk.append(UInt8(ascii: ","))
            chunk.appendDecimal(leaderboard.reachedSequence(of: user))
            chunk.append(UInt8(ascii: ","))
            chunk.appendDecimal(mask)
            chunk.append(UInt8(ascii: "]"))
        }
        userChunks.append(chunk)
        return userChunks.enumerated().map { part, users in
            var json: [UInt8] = []
            json.reserveCapacity(users.count + 512)
            json.appendRaw("{\"v\":")
            json.appendDecimal(QuizSnapshotHeader.version)
            json.appendRaw(",\"round\":")
            json.appendDecimal(round)
            json.appendRaw(",\"part\":")
            json.appendDecimal(part)
            json.appendRaw(",\"parts\":")
            json.appendDecimal(userChunks.count)
            json.appendRaw(",\"taken_at_ms\":")
            json.appendDecimal(takenAtMs)
            json.appendRaw(",\"seq\":")
            json.appendDecimal(scoreSequence)
            json.appendRaw(",\"result_offsets\":[")
            for (index, position) in resultPositions.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.append(UInt8(ascii: "["))
                json.appendDecimal(Int(position.key))
                json.append(UInt8(ascii: ","))
                json.appendDecimal(position.value)
                json.append(UInt8(ascii: "]"))
            }
            json.appendRaw("],\"rounds\":[")
            for (index, opened) in openRounds.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.appendRaw("{\"round\":")
                json.appendDecimal(opened.round)
                json.appendRaw(",\"id\":")
                json.appendJSONString(opened.publishedID)
                json.appendRaw(",\"published_ms\":")
                json.appendDecimal(opened.publishedMs)
                json.appendRaw(",\"deadline_ms\":")
                json.appendDecimal(opened.deadlineMs)
                json.append(UInt8(ascii: "}"))
            }
            json.appendRaw("],\"users\":[")
            json.append(contentsOf: users)
            json.appendRaw("]}")
            return QuizRecord(topic: .quizState, key: Self.snapshotKey, value: json)
        }
    }
}

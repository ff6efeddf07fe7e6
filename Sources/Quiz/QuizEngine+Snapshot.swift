import StadiumProtocol

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
            chunk.appendJSON { writer in
                writer.append(UInt8(ascii: "["))
                let name = users.names[user]
                writer.appendString(name.span.bytes)
                writer.append(UInt8(ascii: ","))
                writer.append(leaderboard.total(of: user))
                writer.append(UInt8(ascii: ","))
                writer.append(Int64(clamping: leaderboard.reachedSequence(of: user)))
                writer.append(UInt8(ascii: ","))
                writer.append(Int64(mask))
                writer.append(UInt8(ascii: "]"))
            }
        }
        userChunks.append(chunk)
        return userChunks.enumerated().map { part, users in
            var json: [UInt8] = []
            json.reserveCapacity(users.count + 512)
            json.appendJSON { writer in
                writer.append("{\"v\":")
                writer.append(QuizSnapshotHeader.version)
                writer.append(",\"round\":")
                writer.append(Int64(round))
                writer.append(",\"part\":")
                writer.append(Int64(part))
                writer.append(",\"parts\":")
                writer.append(Int64(userChunks.count))
                writer.append(",\"taken_at_ms\":")
                writer.append(takenAtMs)
                writer.append(",\"seq\":")
                writer.append(Int64(clamping: scoreSequence))
                writer.append(",\"result_offsets\":[")
                for (index, position) in resultPositions.sorted(by: { $0.key < $1.key }).enumerated() {
                    writer.append(index > 0 ? ",[" : "[")
                    writer.append(Int64(position.key))
                    writer.append(UInt8(ascii: ","))
                    writer.append(position.value)
                    writer.append(UInt8(ascii: "]"))
                }
                writer.append("],\"rounds\":[")
                for (index, opened) in openRounds.enumerated() {
                    writer.append(index > 0 ? ",{\"round\":" : "{\"round\":")
                    writer.append(Int64(opened.round))
                    writer.append(",\"id\":")
                    writer.appendString(opened.publishedID)
                    writer.append(",\"published_ms\":")
                    writer.append(opened.publishedMs)
                    writer.append(",\"deadline_ms\":")
                    writer.append(opened.deadlineMs)
                    writer.append(UInt8(ascii: "}"))
                }
                writer.append("],\"users\":[")
                writer.append(users.span.bytes)
                writer.append("]}")
            }
            return QuizRecord(topic: .quizState, key: Self.snapshotKey, value: json)
        }
    }
}

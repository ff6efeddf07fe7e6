/// Values of the records the engine produces.
enum QuizRecordEncoding {
    /// Topic `question`: `{"id","round","question","answers":[4 texts],"published_ms","deadline_ms","points"}`;
    /// never the correct answer.
    static func question(_ opened: OpenRound) -> [UInt8] {
        var json: [UInt8] = []
        json.appendRaw("{\"id\":")
        json.appendJSONString(opened.publishedID)
        json.appendRaw(",\"round\":")
        json.appendDecimal(opened.round)
        json.appendRaw(",\"question\":")
        json.appendJSONString(opened.question.text)
        json.appendRaw(",\"answers\":[")
        for (index, answer) in opened.question.answers.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.appendJSONString(answer)
        }
        json.appendRaw("],\"published_ms\":")
        json.appendDecimal(opened.publishedMs)
        json.appendRaw(",\"deadline_ms\":")
        json.appendDecimal(opened.deadlineMs)
        json.appendRaw(",\"points\":")
        json.appendDecimal(opened.question.points)
        json.append(UInt8(ascii: "}"))
        return json
    }

    /// Topic `result`, key = user:
    /// `{"question_id","answer","correct_answer","points","total","late","seq"}`; `seq` is the
    /// engine's scoring sequence, used to order leaderboard ties after a restore.
    static func result(
        publishedID: [UInt8], answer: Int, correctAnswer: Int, points: Int64, total: Int64, late: Bool,
        sequence: UInt64
    ) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(112 + publishedID.count)
        json.appendRaw("{\"question_id\":")
        json.appendJSONString(utf8: publishedID)
        json.appendRaw(",\"answer\":")
        json.appendDecimal(answer)
        json.appendRaw(",\"correct_answer\":")
        json.appendDecimal(correctAnswer)
        json.appendRaw(",\"points\":")
        json.appendDecimal(points)
        json.appendRaw(",\"total\":")
        json.appendDecimal(total)
        json.appendRaw(late ? ",\"late\":true,\"seq\":" : ",\"late\":false,\"seq\":")
        json.appendDecimal(sequence)
        json.append(UInt8(ascii: "}"))
        return json
    }
}

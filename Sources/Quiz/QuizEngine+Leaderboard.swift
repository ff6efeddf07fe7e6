extension QuizEngine {
    static let userIDField = Array("user_id".utf8)

    /// Answers one record of topic `gettop` (value `{"user_id": "<user>"}`) with a `top`
    /// record keyed by the user: `{"score": <user's total>, "top": [{"name","score"}, ...]}`.
    /// The top list is encoded once per leaderboard change and reused. `nowMs` only paces
    /// the bad input reports. Returns nil for bad input, counted in `badGetTops`.
    public mutating func getTopRecord(value: [UInt8], nowMs: Int64 = 0) -> QuizRecord? {
        guard let userBytes = getTopUser(value: value, nowMs: nowMs) else { return nil }
        let score = users.id(of: userBytes).map { leaderboard.total(of: $0) } ?? 0
        topRepliesProduced += 1
        return QuizRecord(topic: .top, key: Array(userBytes), value: Self.topReply(score: score, topJSON: encodedTop()))
    }

    /// The `user_id` a `gettop` record asks for; nil for bad input, counted in `badGetTops`.
    public mutating func getTopUser(value: [UInt8], nowMs: Int64 = 0) -> ArraySlice<UInt8>? {
        var userBytes: ArraySlice<UInt8>?
        do {
            var fields = try FlatJSONObjectScanner(value)
            while let field = try fields.nextField() {
                guard fields.equals(field.key, Self.userIDField), case .string(let range, let hasEscapes) = field.value
                else { continue }
                userBytes = hasEscapes ? JSONStringDecoding.unescape(value[range]).map { $0[...] } : value[range]
            }
        } catch {
            reject(.notJSON, source: .gettop, value: value, atMs: nowMs)
            return nil
        }
        guard let userBytes, !userBytes.isEmpty else {
            reject(.missingField, source: .gettop, value: value, atMs: nowMs)
            return nil
        }
        return userBytes
    }

    /// Counts a `top` reply the caller built (processors that merge several engines' tops).
    public mutating func countTopReply() {
        topRepliesProduced += 1
    }

    /// A `top` value: `{"score": <score>, "top": <topJSON>}`.
    static func topReply(score: Int64, topJSON: [UInt8]) -> [UInt8] {
        var reply: [UInt8] = []
        reply.reserveCapacity(topJSON.count + 32)
        reply.appendRaw("{\"score\":")
        reply.appendDecimal(score)
        reply.appendRaw(",\"top\":")
        reply.append(contentsOf: topJSON)
        reply.append(UInt8(ascii: "}"))
        return reply
    }

    /// A `top` value from ranked entries (best first), as `getTopRecord` writes it.
    public static func topReply(score: Int64, entries: [RankedEntry]) -> [UInt8] {
        topReply(score: score, topJSON: topList(entries.map { (Array($0.name.utf8), $0.score) }))
    }

    /// `[{"name","score"}, ...]`, in the order given.
    static func topList<Rows: Sequence<([UInt8], Int64)>>(_ rows: Rows) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "[")]
        for (position, row) in rows.enumerated() {
            if position > 0 { json.append(UInt8(ascii: ",")) }
            json.appendRaw("{\"name\":")
            json.appendJSONString(utf8: row.0)
            json.appendRaw(",\"score\":")
            json.appendDecimal(row.1)
            json.append(UInt8(ascii: "}"))
        }
        json.append(UInt8(ascii: "]"))
        return json
    }

    /// The best `topCount` users with the sequence at which each reached their score.
    public mutating func rankedTop() -> [RankedEntry] {
        leaderboard.topUsers().map {
            RankedEntry(
                name: String(decoding: users.names[$0], as: UTF8.self), score: leaderboard.total(of: $0),
                reached: leaderboard.reachedSequence(of: $0))
        }
    }

    /// The best `topCount` users, best first.
    public mutating func topEntries() -> [LeaderboardEntry] {
        leaderboard.topUsers().map {
            LeaderboardEntry(name: String(decoding: users.names[$0], as: UTF8.self), score: leaderboard.total(of: $0))
        }
    }

    /// A user's cumulative total (0 for a user never seen).
    public func total(of user: String) -> Int64 {
        users.id(of: Array(user.utf8)).map { leaderboard.total(of: $0) } ?? 0
    }

    private mutating func encodedTop() -> [UInt8] {
        let top = leaderboard.topUsers()
        if let topCache, topCache.version == leaderboard.version { return topCache.json }
        let json = Self.topList(top.lazy.map { [users, leaderboard] user in (users.names[user], leaderboard.total(of: user)) })
        topCache = (leaderboard.version, json)
        return json
    }
}

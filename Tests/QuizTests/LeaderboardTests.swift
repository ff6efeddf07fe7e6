import Testing
@testable import Quiz

@Suite struct LeaderboardTests {
    func topReply(_ engine: inout QuizEngine, user: String) -> [String: Any] {
        let record = engine.getTopRecord(value: Fixtures.bytes("{\"user_id\":\"\(user)\"}"))
        #expect(record?.topic == .top)
        #expect(record?.key == Fixtures.bytes(user))
        return record.map { Fixtures.object($0.value) } ?? [:]
    }

    func names(_ reply: [String: Any]) -> [String] {
        (reply["top"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test func ranksByScoreThenByWhoReachedItFirst() {
        var engine = Fixtures.engineWithOpenQuestion()
        _ = engine.answer("slow", 2)
        _ = engine.answer("first", 1)
        _ = engine.answer("second", 1)
        _ = engine.tick(nowMs: Fixtures.startMs + 20_000)
        // "second" reaches 150 before "first" does: the tie at 150 goes to "second".
        _ = engine.answer("second", 3, atMs: Fixtures.startMs + 21_000)
        _ = engine.answer("first", 3, atMs: Fixtures.startMs + 21_000)
        #expect(engine.topEntries() == [
            LeaderboardEntry(name: "second", score: 150),
            LeaderboardEntry(name: "first", score: 150),
            LeaderboardEntry(name: "slow", score: 0),
        ])
    }

    @Test func replyCarriesUserScoreAndTop() {
        var engine = Fixtures.engineWithOpenQuestion()
        _ = engine.answer("alice", 1)
        _ = engine.answer("bob", 0)
        let reply = topReply(&engine, user: "bob")
        #expect(reply["score"] as? Int == 0)
        #expect(names(reply) == ["alice", "bob"])
        let scores = (reply["top"] as? [[String: Any]] ?? []).compactMap { $0["score"] as? Int }
        #expect(scores == [100, 0])
        #expect(topReply(&engine, user: "nobody")["score"] as? Int == 0)
    }

    @Test func topIsLimitedToConfiguredSize() {
        var engine = Fixtures.engineWithOpenQuestion(top: 3)
        for user in 0..<10 {
            _ = engine.answer("user\(user)", user % 2 == 0 ? 1 : 0)
        }
        #expect(names(topReply(&engine, user: "user9")) == ["user0", "user2", "user4"])
        #expect(engine.topEntries().count == 3)
    }

    @Test func topReplyFollowsScoreChanges() {
        var engine = Fixtures.engineWithOpenQuestion(top: 2)
        _ = engine.answer("a", 0)
        _ = engine.answer("b", 0)
        _ = engine.answer("c", 0)
        #expect(names(topReply(&engine, user: "c")) == ["a", "b"])
        _ = engine.tick(nowMs: Fixtures.startMs + 20_000)
        _ = engine.answer("c", 3, atMs: Fixtures.startMs + 21_000)
        #expect(names(topReply(&engine, user: "c")) == ["c", "a"])
    }

    @Test func badGetTopRequestsAreCounted() {
        var engine = Fixtures.engineWithOpenQuestion()
        #expect(engine.getTopRecord(value: Fixtures.bytes("nope")) == nil)
        #expect(engine.getTopRecord(value: Fixtures.bytes(#"{"user":"x"}"#)) == nil)
        #expect(engine.badGetTops[.notJSON] == 1)
        #expect(engine.badGetTops[.missingField] == 1)
    }

    @Test func escapedUserIDIsDecoded() {
        var engine = Fixtures.engineWithOpenQuestion()
        let record = engine.getTopRecord(value: Fixtures.bytes(#"{"user_id":"a\u00e9\"b"}"#))
        #expect(record?.key == Fixtures.bytes("aé\"b"))
    }
}

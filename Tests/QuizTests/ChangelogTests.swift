import Testing
@testable import Quiz

/// Engines that hold one answer partition each (processors in a group).
@Suite struct ChangelogTests {
    static func partitionConfiguration() -> QuizConfiguration {
        var configuration = Fixtures.configuration()
        configuration.takesSnapshots = false
        configuration.timeOrderedSequence = true
        configuration.keepsChangelog = true
        return configuration
    }

    /// A partition engine that learnt the first question from its record, as a follower does.
    static func follower(of generator: QuizEngine) throws -> QuizEngine {
        var engine = QuizEngine(bank: Fixtures.bank, configuration: partitionConfiguration())
        for record in generator.questionRecordsForTests {
            try engine.restore(questionRecord: record)
        }
        return engine
    }

    @Test func aNewOwnerRestoredFromTheChangelogScoresNoAnswerTwice() throws {
        let generator = Fixtures.engineWithOpenQuestion()
        var owner = try Self.follower(of: generator)
        let id = owner.currentQuestion!.publishedID
        #expect(Fixtures.result(owner.answerRecord(key: Fixtures.bytes("ana"), value: Fixtures.answerValue(id, 1), kafkaTimestampMs: Fixtures.startMs + 1_000))?["total"] as? Int == 100)
        let changelog = owner.changelogRecords(resultOffset: 7)
        #expect(changelog.count == 1)
        #expect(owner.changelogRecords(resultOffset: 7).isEmpty, "written once")

        var next = try Self.follower(of: generator)
        for record in changelog {
            #expect(try next.restore(changelogKey: record.key, value: record.value) == 7)
        }
        #expect(next.total(of: "ana") == 100)
        // The answer is delivered again after the move: already counted.
        #expect(next.answerRecord(key: Fixtures.bytes("ana"), value: Fixtures.answerValue(id, 1), kafkaTimestampMs: Fixtures.startMs + 1_000) == .duplicate)
        #expect(Fixtures.result(next.answerRecord(key: Fixtures.bytes("ben"), value: Fixtures.answerValue(id, 1), kafkaTimestampMs: Fixtures.startMs + 2_000))?["total"] as? Int == 100)
    }

    @Test func restoringTwiceOrOutOfOrderKeepsTheLargerTotal() throws {
        let generator = Fixtures.engineWithOpenQuestion()
        var engine = try Self.follower(of: generator)
        let newer = Fixtures.bytes("{\"v\":1,\"total\":300,\"seq\":9,\"answered\":[],\"result_offset\":4}")
        let older = Fixtures.bytes("{\"v\":1,\"total\":100,\"seq\":2,\"answered\":[],\"result_offset\":1}")
        try engine.restore(changelogKey: Fixtures.bytes("ana"), value: newer)
        try engine.restore(changelogKey: Fixtures.bytes("ana"), value: older)
        try engine.restore(changelogKey: Fixtures.bytes("ana"), value: newer)
        #expect(engine.total(of: "ana") == 300)
    }

    @Test func badChangelogRecordsAreRefused() throws {
        var engine = QuizEngine(bank: Fixtures.bank, configuration: Self.partitionConfiguration())
        let good = Fixtures.bytes("{\"v\":1,\"total\":1,\"seq\":1,\"answered\":[],\"result_offset\":0}")
        #expect(throws: QuizRestoreError.self) { try engine.restore(changelogKey: nil, value: good) }
        #expect(throws: QuizRestoreError.self) { try engine.restore(changelogKey: [0xFF], value: good) }
        for bad in ["", "[]", "{\"v\":2,\"total\":1,\"seq\":1,\"answered\":[],\"result_offset\":0}",
                    "{\"v\":1,\"seq\":1,\"answered\":[],\"result_offset\":0}", "{\"v\":1,\"total\":1,\"seq\":1,\"result_offset\":0}",
                    "{\"v\":1,\"total\":-5,\"seq\":1,\"answered\":[],\"result_offset\":0}"] {
            #expect(throws: QuizRestoreError.self, "\(bad)") { try engine.restore(changelogKey: Fixtures.bytes("ana"), value: Fixtures.bytes(bad)) }
        }
        #expect(engine.userCount == 0)
    }

    @Test func anAnswerToTheNextRoundWaitsInsteadOfBeingRejected() throws {
        let generator = Fixtures.engineWithOpenQuestion()
        var engine = try Self.follower(of: generator)
        let later = Fixtures.answerValue("beta-r2", 3)
        #expect(engine.answerRecord(key: Fixtures.bytes("ana"), value: later, kafkaTimestampMs: Fixtures.startMs, deferLaterRounds: true) == .laterRound(2))
        #expect(engine.badAnswers.isEmpty, "not counted while deferred")
        #expect(engine.answerRecord(key: Fixtures.bytes("ana"), value: Fixtures.answerValue("alpha-r0", 1), kafkaTimestampMs: Fixtures.startMs, deferLaterRounds: true) == .rejected(.unknownQuestion))
        #expect(engine.answerRecord(key: Fixtures.bytes("ana"), value: later, kafkaTimestampMs: Fixtures.startMs) == .rejected(.unknownQuestion))
        let farAhead = Fixtures.answerValue("beta-r9", 3)
        #expect(engine.answerRecord(key: Fixtures.bytes("ana"), value: farAhead, kafkaTimestampMs: Fixtures.startMs, deferLaterRounds: true) == .rejected(.unknownQuestion), "no question can be that far ahead")
    }

    @Test func publishedIDsNameTheirRound() {
        #expect(OpenRound.round(inPublishedID: Fixtures.bytes("q-001-r12")[...]) == 12)
        for bad in ["q", "q-r", "q-rx", "q-12", "q-r1234567890"] {
            #expect(OpenRound.round(inPublishedID: Fixtures.bytes(bad)[...]) == nil, "\(bad)")
        }
        #expect(QuizEngine.round(ofQuestionRecord: Fixtures.bytes("{\"id\":\"a-r3\",\"round\":3}")) == 3)
        #expect(QuizEngine.round(ofQuestionRecord: Fixtures.bytes("nope")) == nil)
    }

    @Test func partitionEnginesOrderTiesByAnswerTime() throws {
        let generator = Fixtures.engineWithOpenQuestion()
        var early = try Self.follower(of: generator)
        var late = try Self.follower(of: generator)
        let id = generator.currentQuestion!.publishedID
        _ = late.answerRecord(key: Fixtures.bytes("late"), value: Fixtures.answerValue(id, 1), kafkaTimestampMs: Fixtures.startMs + 2_000)
        _ = early.answerRecord(key: Fixtures.bytes("early"), value: Fixtures.answerValue(id, 1), kafkaTimestampMs: Fixtures.startMs + 1_000)
        #expect(early.rankedTop()[0].ranksAbove(late.rankedTop()[0]))
    }

    @Test func withoutSnapshotsTheClockOnlyPublishesQuestions() {
        var engine = QuizEngine(bank: Fixtures.bank, configuration: Self.partitionConfiguration())
        var records = engine.tick(nowMs: Fixtures.startMs)
        records += engine.tick(nowMs: Fixtures.startMs + 15_000)
        records += engine.tick(nowMs: Fixtures.startMs + 20_000)
        #expect(records.map(\.topic) == [.question, .question])
        #expect(engine.nextTickMs == Fixtures.startMs + 40_000)
    }
}

extension QuizEngine {
    /// The question records of the open rounds, oldest first.
    var questionRecordsForTests: [[UInt8]] {
        openRounds.reversed().map { QuizRecordEncoding.question($0) }
    }
}

/// The quiz as a state machine without I/O: the caller feeds it clock ticks and Kafka
/// records and produces the records it returns.
///
/// Restart design (topic `quiz-state`, see `QuizSnapshot`): once per round, `snapshotDelayMs`
/// after the answer deadline, the engine emits a snapshot of every user's total and of the
/// answered sets of the open rounds, split into parts of at most `snapshotPartBytes`.
/// On start the caller restores, in this order: the parts of the last snapshot, the last
/// `question` record, then the `result` records from `restoredResultPositions` (the
/// positions the snapshot covers) to the end. Every restore step is a merge where
/// the larger total wins and answered sets are unions, so reading too much is harmless;
/// a restart therefore reads one snapshot plus at most about one round of results.
/// Answers the group consumer delivers again after the restart are recognised as
/// duplicates through the restored answered sets and never score twice.
public struct QuizEngine {
    public let bank: QuestionBank
    public let configuration: QuizConfiguration

    /// Called with rejected records, at most `badInputReportsPerSecond` times per second.
    public var badInputReporter: ((BadInputReport) -> Void)?

    /// The last published round (0 before the first question).
    public var round: Int { openRounds.first?.round ?? 0 }
    public internal(set) var roundsPublished = 0
    public internal(set) var answersScored = 0
    public internal(set) var lateAnswers = 0
    public internal(set) var duplicateAnswers = 0
    public internal(set) var resultsProduced = 0
    public internal(set) var topRepliesProduced = 0
    public internal(set) var snapshotsProduced = 0
    public internal(set) var badAnswers: [BadInputReason: Int] = [:]
    public internal(set) var badGetTops: [BadInputReason: Int] = [:]
    /// Time the restored snapshot was taken: results from then on must be restored too.
    public internal(set) var restoredSnapshotTakenAtMs: Int64?
    /// Where to start reading `result` after restoring a snapshot (partition: offset);
    /// partitions not listed are read from the beginning.
    public internal(set) var restoredResultPositions: [Int32: Int64] = [:]

    var users = UserDirectory()
    var leaderboard: Leaderboard
    /// Newest first, at most `keptRounds`.
    var openRounds: [OpenRound] = []
    /// Counts counted answers; orders ties on the leaderboard and survives restarts.
    var scoreSequence: UInt64 = 0
    var reportLimiter: BadInputReportLimiter
    var topCache: (version: Int, json: [UInt8])?
    /// Users scored since the last `changelogRecords` (with `keepsChangelog`); may repeat.
    var changedUsers: [UserID] = []

    static let keptRounds = 2

    public init(bank: QuestionBank, configuration: QuizConfiguration = QuizConfiguration()) {
        self.bank = bank
        self.configuration = configuration
        leaderboard = Leaderboard(capacity: configuration.topCount)
        reportLimiter = BadInputReportLimiter(perSecond: configuration.badInputReportsPerSecond)
    }

    public var userCount: Int { users.count }

    /// When `tick` has something to do next (epoch ms): a snapshot or the next question.
    public var nextTickMs: Int64 {
        guard let current = openRounds.first else { return .min }
        let nextQuestion = current.publishedMs + configuration.roundMs
        if current.snapshotTaken || !configuration.takesSnapshots { return nextQuestion }
        return min(nextQuestion, current.deadlineMs + configuration.snapshotDelayMs)
    }

    /// Advances the clock: takes the round's snapshot after its deadline and publishes the
    /// next question when the round is over (the first one at once). `resultPositions`
    /// (partition: next offset of `result` past every delivered result) goes into the
    /// snapshot, so a restart reads only the results written after it.
    public mutating func tick(nowMs: Int64, resultPositions: [Int32: Int64] = [:]) -> [QuizRecord] {
        var records: [QuizRecord] = []
        if configuration.takesSnapshots, let current = openRounds.first, !current.snapshotTaken,
           nowMs >= current.deadlineMs + configuration.snapshotDelayMs
            || nowMs >= current.publishedMs + configuration.roundMs
        {
            records += snapshotRecords(takenAtMs: nowMs, resultPositions: resultPositions)
            openRounds[0].snapshotTaken = true
            snapshotsProduced += 1
        }
        if openRounds.first.map({ nowMs >= $0.publishedMs + configuration.roundMs }) ?? true {
            records.append(publishNextQuestion(nowMs: nowMs))
        }
        return records
    }

    /// The question of `round` (rounds count from 1 and cycle through the bank).
    public func question(forRound round: Int) -> Question {
        bank.questions[(round - 1) % bank.questions.count]
    }

    /// The question currently open for answers, with its published id and deadline.
    public var currentQuestion: (publishedID: String, question: Question, deadlineMs: Int64)? {
        openRounds.first.map { ($0.publishedID, $0.question, $0.deadlineMs) }
    }

    private mutating func publishNextQuestion(nowMs: Int64) -> QuizRecord {
        let next = round + 1
        let opened = OpenRound(
            round: next, question: question(forRound: next),
            publishedMs: nowMs, deadlineMs: nowMs + configuration.answerWindowMs
        )
        insertOpenRound(opened)
        roundsPublished += 1
        return QuizRecord(topic: .question, key: nil, value: QuizRecordEncoding.question(opened))
    }

    /// Keeps `openRounds` newest first and bounded; an already known round is kept as is.
    @discardableResult
    mutating func insertOpenRound(_ opened: OpenRound) -> Bool {
        guard !openRounds.contains(where: { $0.round == opened.round }) else { return false }
        let position = openRounds.firstIndex { $0.round < opened.round } ?? openRounds.count
        openRounds.insert(opened, at: position)
        if openRounds.count > Self.keptRounds { openRounds.removeLast(openRounds.count - Self.keptRounds) }
        return openRounds.contains { $0.round == opened.round }
    }

    mutating func reject(
        _ reason: BadInputReason, source: BadInputReport.Source, value: [UInt8], atMs nowMs: Int64
    ) {
        switch source {
        case .answer: badAnswers[reason, default: 0] += 1
        case .gettop: badGetTops[reason, default: 0] += 1
        }
        guard let badInputReporter, let suppressed = reportLimiter.admit(atMs: nowMs) else { return }
        badInputReporter(BadInputReport(
            source: source, reason: reason,
            excerpt: BadInputReportLimiter.excerpt(of: value), suppressed: suppressed
        ))
    }
}

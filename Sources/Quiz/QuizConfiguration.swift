/// Timing and sizes of the quiz; all durations in milliseconds.
public struct QuizConfiguration: Sendable, Equatable {
    /// A new question every `roundMs`.
    public var roundMs: Int64 = 20_000
    /// Answers whose Kafka timestamp is later than publish time + `answerWindowMs` score 0.
    public var answerWindowMs: Int64 = 10_000
    /// Entries in a `top` reply.
    public var topCount = 10
    /// The snapshot of a round is taken this long after its deadline, letting stragglers in.
    public var snapshotDelayMs: Int64 = 2_000
    /// Upper bound on one `quiz-state` record; larger snapshots are split into parts.
    public var snapshotPartBytes = 512 * 1024
    /// Bad input reports passed to the reporter per second; the rest are only counted.
    public var badInputReportsPerSecond = 5
    /// One engine per process keeps `quiz-state` snapshots; engines that hold one partition each
    /// (processors in a group) keep a changelog instead.
    public var takesSnapshots = true
    /// Scoring sequences from the answer's Kafka timestamp (ms × 1024, kept increasing): engines
    /// of different partitions then order leaderboard ties alike.
    public var timeOrderedSequence = false
    /// Remembers the users whose score changed, for `changelogRecords`.
    public var keepsChangelog = false

    public init() {}

    public init(roundMs: Int64, answerWindowMs: Int64, topCount: Int) {
        self.roundMs = roundMs
        self.answerWindowMs = answerWindowMs
        self.topCount = topCount
    }
}

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

    public init() {}

    public init(roundMs: Int64, answerWindowMs: Int64, topCount: Int) {
        self.roundMs = roundMs
        self.answerWindowMs = answerWindowMs
        self.topCount = topCount
    }
}

/// Kafka topics the quiz reads and writes.
public enum QuizTopic: String, Sendable, CaseIterable {
    case question
    case answer
    case result
    case gettop
    case top
    /// Snapshots of the engine state for restarts; see `QuizSnapshot`.
    case quizState = "quiz-state"
    /// Processors in a group: each answer partition's scores, a compacted changelog (see `QuizEngine+Changelog`).
    case scores = "quiz-scores"
    /// Processors in a group: each answer partition's top, read by every instance to merge the leaderboard.
    case tops = "quiz-tops"
}

/// A record the engine asks the caller to produce.
public struct QuizRecord: Sendable, Equatable {
    public let topic: QuizTopic
    public let key: [UInt8]?
    public let value: [UInt8]

    public init(topic: QuizTopic, key: [UInt8]?, value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.value = value
    }
}

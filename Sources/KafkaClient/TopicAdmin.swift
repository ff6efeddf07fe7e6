import Logging

/// Reads the cluster's topic list; a small client of its own, separate from producers and consumers.
public final class TopicAdmin: @unchecked Sendable {
    private let handle: KafkaHandle

    public init(config: KafkaConfig, logger: Logger = Logger(label: "stadium.kafka.admin")) throws(KafkaError) {
        handle = try KafkaHandle(role: .producer, config: config, events: HandleEvents(logger: logger))
    }

    /// Every topic with its partition count. Blocks up to `timeout`: call off I/O threads.
    public func partitionCounts(timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: Int32] {
        try fetchPartitionCounts(handle: handle, timeout: timeout)
    }

    /// The partition counts of `topics`.
    /// - Throws: `.missingTopics` naming every topic the cluster does not have.
    public func requireTopics(_ topics: [String], timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: Int32] {
        try requirePartitionCounts(of: topics, handle: handle, timeout: timeout)
    }
}

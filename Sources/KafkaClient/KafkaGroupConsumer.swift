import CRdKafka
import Logging

/// The processors' consumer: joins `group.id`, subscribes to topics, starts new groups at the
/// earliest record, and delivers batches exactly like `KafkaConsumer`.
public final class KafkaGroupConsumer: @unchecked Sendable {
    public enum CommitMode: Sendable {
        /// librdkafka commits delivered offsets in the background every few seconds.
        case automatic
        /// Offsets are committed only by `commit()`.
        case manual
    }

    /// The session timeout is the smallest a real broker accepts by default (librdkafka's own
    /// is 45 s): a member that replaces one that left waits about this long minus 1 s on the
    /// development broker before it is assigned partitions.
    public static let defaultProperties: [String: String] = [
        "auto.offset.reset": "earliest",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "2000",
        "statistics.interval.ms": "1000",
        "fetch.wait.max.ms": "10",
    ]

    private let session: ConsumerSession

    /// Checks that `topics` exist (blocking up to `metadataTimeout`), then subscribes.
    /// - Throws: `.missingTopics` naming each topic the cluster lacks; `.configuration` for a bad property.
    public init(
        config: KafkaConfig, groupID: String, topics: [String], commitMode: CommitMode = .automatic,
        maxBatchSize: Int = 1024, metadataTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "stadium.kafka.group-consumer")
    ) throws(KafkaError) {
        let effective = config.addingDefaults(Self.defaultProperties).overriding([
            "group.id": groupID,
            "enable.auto.commit": commitMode == .automatic ? "true" : "false",
        ])
        session = try ConsumerSession(config: effective, maxBatchSize: maxBatchSize, logger: logger)
        _ = try requirePartitionCounts(of: topics, handle: session.handle, timeout: metadataTimeout)
        // The list is ours; librdkafka copies it in rd_kafka_subscribe.
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let result = rd_kafka_subscribe(session.handle.pointer, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_subscribe")
        }
    }

    deinit {
        session.stop()
    }

    /// Starts the consume thread; `handler` runs on it, buffers valid only during the call.
    public func start(handler: @escaping (ConsumedBatch) -> Void) {
        session.start(handler: handler)
    }

    /// Stops and joins the consume thread, then leaves the group (committing if automatic). Idempotent.
    public func stop() {
        session.stop()
    }

    /// Commits the offsets of every record delivered so far. Blocks until the broker answers:
    /// call it from the handler or a processor thread.
    public func commit() throws(KafkaError) {
        let result = rd_kafka_commit(session.handle.pointer, nil, 0)
        // Nothing delivered since the last commit is not a failure.
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw .librdkafka(result, operation: "rd_kafka_commit")
        }
    }

    public func lag() -> [String: Int64] { session.lag() }
    public func positions() -> [TopicPartition: Int64] { session.currentPositions() }

    /// Cached high watermark per assigned partition that has been fetched at least once.
    public func highWatermarks() -> [TopicPartition: Int64] { session.highWatermarks() }
    public var connectivity: BrokerConnectivity { session.handle.events.connectivity }
}

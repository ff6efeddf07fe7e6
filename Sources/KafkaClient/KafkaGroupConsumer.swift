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
    /// `onRebalance`, if given, hears of each assignment before its records flow and of each
    /// revocation before it takes effect.
    /// - Throws: `.missingTopics` naming each topic the cluster lacks; `.configuration` for a bad property.
    public init(
        config: KafkaConfig, groupID: String, topics: [String], commitMode: CommitMode = .automatic,
        maxBatchSize: Int = 1024, metadataTimeout: Duration = .seconds(10), closeTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "stadium.kafka.group-consumer"), onRebalance: RebalanceHandler? = nil
    ) throws(KafkaError) {
        let effective = config.addingDefaults(Self.defaultProperties).overriding([
            "group.id": groupID,
            "enable.auto.commit": commitMode == .automatic ? "true" : "false",
        ])
        session = try ConsumerSession(
            config: effective, maxBatchSize: maxBatchSize, logger: logger, rebalanceHandler: onRebalance,
            closeTimeout: closeTimeout)
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

    /// Stops and joins the consume thread, then leaves the group (committing if automatic), giving up
    /// after `closeTimeout` when the broker does not answer. Idempotent.
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

    /// Commits exactly these positions (the next offset to read, per partition). Blocks until
    /// the broker answers; safe from any thread, also from a rebalance handler.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = Self.makeList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_commit(session.handle.pointer, list, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_commit")
        }
    }

    /// The group's committed positions of `partitions` (absent: nothing committed). Blocks up to `timeout`.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = Self.makeList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) }))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let result = rd_kafka_committed(session.handle.pointer, list, milliseconds)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_committed")
        }
        var offsets: [TopicPartition: Int64] = [:]
        for entry in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) where entry.offset >= 0 {
            offsets[TopicPartition(topic: String(cString: entry.topic), partition: entry.partition)] = entry.offset
        }
        return offsets
    }

    /// A librdkafka partition list the caller destroys.
    private static func makeList(_ offsets: [TopicPartition: Int64]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!.pointee.offset = offset
        }
        return list
    }

    public func lag() -> [String: Int64] { session.lag() }
    public func positions() -> [TopicPartition: Int64] { session.currentPositions() }

    /// Cached high watermark per assigned partition that has been fetched at least once.
    public func highWatermarks() -> [TopicPartition: Int64] { session.highWatermarks() }
    public var connectivity: BrokerConnectivity { session.handle.events.connectivity }
}

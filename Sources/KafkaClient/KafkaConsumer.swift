import CRdKafka
import Foundation
import Logging

/// The gateway's consumer: no group, every partition of the given topics assigned explicitly,
/// each starting at `start`. After a broker outage it resumes where it stopped, because the
/// assignment and fetch positions are kept.
public final class KafkaConsumer: @unchecked Sendable {
    /// Offsets are never committed: the gateway starts from the end (or `back`) every time.
    public static let requiredProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "enable.partition.eof": "false",
    ]
    public static let defaultProperties: [String: String] = [
        "statistics.interval.ms": "1000",
        "fetch.wait.max.ms": "10",
    ]

    private let session: ConsumerSession
    /// Every assigned partition, topic by topic.
    public let partitions: [TopicPartition]

    /// Fetches metadata (blocking up to `metadataTimeout`) and assigns all partitions of `topics`.
    /// - Throws: `.missingTopics` naming each topic the cluster lacks; `.configuration` for a bad property.
    public init(
        config: KafkaConfig, topics: [String], start: StartPosition = .end, maxBatchSize: Int = 1024,
        metadataTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "stadium.kafka.consumer")
    ) throws(KafkaError) {
        // librdkafka's assign() needs a group handle; the group is never joined and nothing is committed.
        let effective = config.addingDefaults(Self.defaultProperties)
            .addingDefaults(["group.id": "stadium-assign-\(UUID().uuidString)"])
            .overriding(Self.requiredProperties)
        session = try ConsumerSession(config: effective, maxBatchSize: maxBatchSize, logger: logger)
        let counts = try requirePartitionCounts(of: topics, handle: session.handle, timeout: metadataTimeout)
        partitions = topics.flatMap { topic in
            (0..<(counts[topic] ?? 0)).map { TopicPartition(topic: topic, partition: $0) }
        }
        try assign(start: try resolve(start, timeout: metadataTimeout))
    }

    /// The end or a tail becomes exact offsets, so that where each partition starts is known:
    /// records before it were never seen here (a resuming client gets them from Kafka, not memory).
    private func resolve(_ start: StartPosition, timeout: Duration) throws(KafkaError) -> StartPosition {
        let count: Int64
        switch start {
        case .end: count = 0
        case .back(let tail): count = max(0, tail)
        case .beginning, .offsets: return start
        }
        var offsets: [TopicPartition: Int64] = [:]
        for partition in partitions {
            let (low, high) = try queryWatermarks(partition, handle: session.handle, timeout: timeout)
            offsets[partition] = max(low, high - count)
        }
        return .offsets(offsets)
    }

    /// Where this consumer started reading `partition`, when it started at a known offset (not
    /// the logical end): every record of the partition from there on reaches the handler.
    public func startOffset(of partition: TopicPartition) -> Int64? {
        session.startOffsets[partition].flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Partitions per topic.
    public var partitionCounts: [String: Int32] {
        partitions.reduce(into: [:]) { counts, partition in counts[partition.topic, default: 0] += 1 }
    }

    deinit {
        session.stop()
    }

    private func assign(start: StartPosition) throws(KafkaError) {
        // The list is ours; librdkafka copies it in rd_kafka_assign.
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            entry.pointee.offset = start.librdkafkaOffset(for: partition)
            session.startOffsets[partition] = entry.pointee.offset
        }
        let result = rd_kafka_assign(session.handle.pointer, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_assign")
        }
    }

    /// Starts the consume thread. `handler` runs on that thread for every batch; the batch's
    /// buffers are valid only during the call.
    public func start(handler: @escaping (ConsumedBatch) -> Void) {
        session.start(handler: handler)
    }

    /// Stops and joins the consume thread, then closes the consumer. Idempotent.
    public func stop() {
        session.stop()
    }

    /// Records produced but not yet handed to the handler, per topic.
    public func lag() -> [String: Int64] { session.lag() }

    /// `lag()` as the consume thread last computed it, about once a second: for readers (such
    /// as /metrics on a ring thread) that must not call into librdkafka.
    public func recentLag() -> [String: Int64] { session.recentLag }

    /// Next offset to deliver, per partition that delivered a record.
    public func positions() -> [TopicPartition: Int64] { session.currentPositions() }

    /// Cached high watermark per assigned partition that has been fetched at least once.
    public func highWatermarks() -> [TopicPartition: Int64] { session.highWatermarks() }

    /// Reachability of the brokers, for `/healthz`.
    public var connectivity: BrokerConnectivity { session.handle.events.connectivity }
}

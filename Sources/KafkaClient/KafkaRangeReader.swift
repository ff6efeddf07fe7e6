import CRdKafka
import Foundation
import Logging
import Synchronization

/// A record copied out of librdkafka, to keep after the read that found it.
public struct StoredRecord: Sendable, Equatable {
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]
}

/// What a range read found: the records kept, in offset order, and the part of the range that
/// Kafka could still serve (records before `firstAvailable` are gone: retention).
public struct RangeRead: Sendable {
    public var records: [StoredRecord]
    public var firstAvailable: Int64
}

/// Reads bounded ranges of single partitions on demand, on the caller's thread: for clients
/// that resume from an offset this gateway no longer (or never) held. No group, nothing
/// committed; one range at a time.
public final class KafkaRangeReader: @unchecked Sendable {
    private let session: ConsumerSession
    /// Held by a read, and by `serveEvents`: one thread at a time serves the queue.
    private let serving = Mutex(())

    public init(config: KafkaConfig, logger: Logger = Logger(label: "stadium.kafka.recovery")) throws(KafkaError) {
        let effective = config.addingDefaults(KafkaConsumer.defaultProperties)
            .addingDefaults(["group.id": "stadium-recovery-\(UUID().uuidString)"])
            .overriding(KafkaConsumer.requiredProperties)
            // A start before the oldest retained record reads from the oldest.
            .overriding(["auto.offset.reset": "earliest"])
        session = try ConsumerSession(config: effective, maxBatchSize: 1024, logger: logger)
    }

    deinit {
        session.stop()
    }

    /// Whether the statistics served so far show a broker connection up.
    public var connectivity: BrokerConnectivity { session.handle.events.connectivity }

    /// Events waiting to be served (see `serveEvents`).
    public var queuedEvents: Int { session.queuedEvents }

    /// Serves the callbacks librdkafka queued while no read ran (a statistics event every
    /// interval, errors), without blocking. An owner that reads rarely calls this while idle:
    /// unserved, they pile up for good (about 8 KiB a second of the gateway's memory). From any
    /// thread; returns at once while a read runs (the read serves them).
    public func serveEvents() {
        serving.withLockIfAvailable { _ in
            // Unassigned between reads, so what comes back is at most a stray record or error: dropped.
            while let message = session.consumeOne(timeoutMilliseconds: 0) {
                rd_kafka_message_destroy(message)
            }
        }
    }

    /// The partition's oldest retained offset and the offset its next record will get.
    public func watermarks(of partition: TopicPartition, timeout: Duration) throws(KafkaError) -> (low: Int64, high: Int64) {
        try queryWatermarks(partition, handle: session.handle, timeout: timeout)
    }

    /// The records of `partition` with offsets in `offsets` whose key `keep` accepts. Blocks up
    /// to `timeout`; throws when the broker cannot say where the partition ends.
    public func read(
        _ partition: TopicPartition, offsets: Range<Int64>, timeout: Duration,
        keep: (UnsafeRawBufferPointer?) -> Bool
    ) throws(KafkaError) -> RangeRead {
        try serving.withLock { _ throws(KafkaError) in
            try readServing(partition, offsets: offsets, timeout: timeout, keep: keep)
        }
    }

    private func readServing(
        _ partition: TopicPartition, offsets: Range<Int64>, timeout: Duration,
        keep: (UnsafeRawBufferPointer?) -> Bool
    ) throws(KafkaError) -> RangeRead {
        let (low, high) = try queryWatermarks(partition, handle: session.handle, timeout: timeout)
        let start = max(offsets.lowerBound, low)
        let end = min(offsets.upperBound, high)
        var read = RangeRead(records: [], firstAvailable: max(offsets.lowerBound, low))
        guard start < end else { return read }
        try assign(partition, at: start)
        defer { _ = rd_kafka_assign(session.handle.pointer, nil) }
        let deadline = ContinuousClock.now + timeout
        var next = start
        while next < end {
            guard ContinuousClock.now < deadline else {
                throw .stadium(.timedOut, "read \(partition) \(start)..<\(end) stopped at \(next)", operation: "range read")
            }
            guard let message = session.consumeOne(timeoutMilliseconds: 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let record = ConsumedRecord(message: UnsafePointer(message), topic: partition.topic)
            guard record.partition == partition.partition, record.offset >= next else { continue }
            next = record.offset + 1
            guard record.offset < end, keep(record.key) else { continue }
            read.records.append(StoredRecord(offset: record.offset, key: record.keyBytes, value: record.valueBytes))
        }
        return read
    }

    private func assign(_ partition: TopicPartition, at offset: Int64) throws(KafkaError) {
        // The list is ours; librdkafka copies it in rd_kafka_assign.
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!.pointee.offset = offset
        let result = rd_kafka_assign(session.handle.pointer, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw .librdkafka(result, operation: "rd_kafka_assign")
        }
    }
}

import CRdKafka
import Logging
import Synchronization

/// An idempotent producer (acks=all). `produce` never blocks: librdkafka copies the record into
/// its queue and the outcome arrives later on the producer's poll thread through `onDelivery`.
public final class KafkaProducer: @unchecked Sendable {
    /// Low latency first: a record waits at most 2 ms for others to share its batch.
    public static let defaultProperties: [String: String] = [
        "linger.ms": "2",
        "statistics.interval.ms": "1000",
    ]
    /// Always applied: exactly-once, in-order writes per partition.
    public static let requiredProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
    ]

    private let handle: KafkaHandle
    private let pollLoop: ProducerPollLoop
    private let closed = Atomic<Bool>(false)

    /// Reachability of the brokers, for health checks.
    public var connectivity: BrokerConnectivity { handle.events.connectivity }

    /// - Parameter onDelivery: called once per produced record, on the producer's poll thread.
    public init(
        config: KafkaConfig, logger: Logger = Logger(label: "stadium.kafka.producer"),
        onDelivery: @escaping DeliveryHandler
    ) throws(KafkaError) {
        let effective = config.addingDefaults(Self.defaultProperties).overriding(Self.requiredProperties)
        handle = try KafkaHandle(
            role: .producer, config: effective,
            events: HandleEvents(logger: logger, deliveryHandler: onDelivery))
        pollLoop = ProducerPollLoop(handle: handle)
        pollLoop.start()
    }

    deinit {
        pollLoop.stop()
    }

    /// Queues one record; librdkafka copies key, value and headers before returning.
    /// `partition` nil lets the partitioner choose from the key (same key, same partition).
    /// - Throws: `.queueFull` when the local queue is full (retry later), `.unknownTopic`,
    ///   `.closed` after `close()`.
    public func produce(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: [KafkaHeader] = [], partition: Int32? = nil, token: UInt64
    ) throws(KafkaError) {
        guard !closed.load(ordering: .relaxed) else {
            throw .stadium(.closed, "producer is closed", operation: "produce")
        }
        let failure: OpaquePointer? =
            if headers.isEmpty {
                enqueue(topic: topic, partition: partition, key: key, value: value, headers: nil, token: token)
            } else {
                HeaderBlock(headers).withCHeaders { cHeaders in
                    enqueue(
                        topic: topic, partition: partition, key: key, value: value, headers: cHeaders, token: token)
                }
            }
        if let failure {
            throw KafkaError.consuming(failure, operation: "rd_kafka_produceva")
        }
    }

    public func produce(
        topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil,
        token: UInt64
    ) throws(KafkaError) {
        // withUnsafeBytes is untyped-rethrows, so the error is carried out as a value.
        let failure: KafkaError? = value.withUnsafeBytes { valueBytes in
            guard let key else {
                return capture { () throws(KafkaError) in
                    try produce(
                        topic: topic, key: nil, value: valueBytes, headers: headers, partition: partition, token: token)
                }
            }
            return key.withUnsafeBytes { keyBytes in
                capture { () throws(KafkaError) in
                    try produce(
                        topic: topic, key: keyBytes, value: valueBytes, headers: headers, partition: partition, token: token)
                }
            }
        }
        if let failure { throw failure }
    }

    private func capture(_ body: () throws(KafkaError) -> Void) -> KafkaError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    /// Waits until every record produced so far has had its delivery report handled.
    /// - Throws: `.timedOut` if records are still outstanding at the deadline.
    public func flush(timeout: Duration) throws(KafkaError) {
        if !pollLoop.waitUntilDrained(timeout: timeout) {
            let outstanding = rd_kafka_outq_len(handle.pointer)
            throw .librdkafka(
                RD_KAFKA_RESP_ERR__TIMED_OUT, kind: .timedOut,
                message: "\(outstanding) records still awaiting delivery after \(timeout)", operation: "flush")
        }
    }

    /// Refuses new records, waits up to `timeout` for outstanding ones, then stops the poll thread.
    /// Records still outstanding at the deadline get no delivery report; the error says how many.
    public func close(timeout: Duration = .seconds(10)) throws(KafkaError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        defer { pollLoop.stop() }
        try flush(timeout: timeout)
    }

    /// Builds the value list for `rd_kafka_produceva` on the stack; returns librdkafka's error, if any.
    private func enqueue(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: [(name: UnsafePointer<CChar>, value: UnsafeRawBufferPointer)]?, token: UInt64
    ) -> OpaquePointer? {
        let count = 5 + (key == nil ? 0 : 1) + (headers?.count ?? 0)
        return topic.withCString { topicName in
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: count) { values in
                var index = 0
                func append(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                    var entry = rd_kafka_vu_t()
                    entry.vtype = type
                    fill(&entry)
                    values.initializeElement(at: index, to: entry)
                    index += 1
                }
                append(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topicName }
                // Without a partition librdkafka's partitioner picks one from the key.
                append(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition ?? RD_KAFKA_PARTITION_UA }
                // F_COPY: librdkafka copies the bytes, so the caller's buffer is free on return.
                append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                append(RD_KAFKA_VTYPE_VALUE) {
                    $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    $0.u.mem.size = value.count
                }
                if let key {
                    append(RD_KAFKA_VTYPE_KEY) {
                        $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        $0.u.mem.size = key.count
                    }
                }
                for header in headers ?? [] {
                    append(RD_KAFKA_VTYPE_HEADER) {
                        $0.u.header.name = header.name
                        $0.u.header.val = header.value.baseAddress
                        $0.u.header.size = header.value.count
                    }
                }
                // The token rides in the message's opaque pointer and comes back in the delivery report.
                append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(token)) }
                defer { values.baseAddress!.deinitialize(count: index) }
                return rd_kafka_produceva(handle.pointer, values.baseAddress, index)
            }
        }
    }
}

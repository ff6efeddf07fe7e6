import CRdKafka
import Logging
import Synchronization

/// What both consumers share: the handle, the consume thread that delivers batches, the
/// positions handed to the application, lag and connectivity.
final class ConsumerSession: @unchecked Sendable {
    let handle: KafkaHandle
    /// The consumer queue, into which the main queue is forwarded: one thread serves both
    /// records and callbacks (errors, statistics, rebalances).
    private let queue: OpaquePointer
    private let maxBatchSize: Int
    /// How long `stop` waits for the consumer to commit and leave its group.
    private let closeTimeout: Duration
    private let stopping = Atomic<Bool>(false)
    private let positions = Mutex<[TopicPartition: Int64]>([:])
    private let recentLagState = Mutex<[String: Int64]>([:])
    private var thread: WorkerThread?
    /// Where each assigned partition starts, as librdkafka offsets; set before `start`.
    /// librdkafka's own position runs ahead of the handler (it is the fetch position), so lag of
    /// a partition that has delivered nothing yet is counted from here when it is known.
    var startOffsets: [TopicPartition: Int64] = [:]

    init(
        config: KafkaConfig, maxBatchSize: Int, logger: Logger, rebalanceHandler: RebalanceHandler? = nil,
        closeTimeout: Duration = .seconds(10)
    ) throws(KafkaError) {
        self.closeTimeout = closeTimeout
        handle = try KafkaHandle(
            role: .consumer, config: config, events: HandleEvents(logger: logger, rebalanceHandler: rebalanceHandler))
        rd_kafka_poll_set_consumer(handle.pointer)
        // A reference we own; destroyed in deinit, before the handle.
        queue = rd_kafka_queue_get_consumer(handle.pointer)
        self.maxBatchSize = max(1, maxBatchSize)
    }

    deinit {
        rd_kafka_queue_destroy(queue)
    }

    var logger: Logger { handle.events.logger }

    /// Starts the consume thread; `handler` runs on it for every non-empty batch.
    func start(handler: @escaping (ConsumedBatch) -> Void) {
        precondition(thread == nil, "a consumer starts once")
        thread = WorkerThread(name: "kafka-consume") { [self] in
            consumeUntilStopped(handler: handler)
        }
    }

    /// Stops the consume thread, waits for it, then closes the consumer (leaving its group, if any).
    /// The wait includes the handler's current call: a handler that never returns blocks stop.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_queue_yield(queue)
        thread?.join()
        thread = nil
        close()
    }

    /// Commits and leaves the group (for a group consumer), serving the rebalance callback on this
    /// thread, but for at most `closeTimeout`: with the broker gone, librdkafka's blocking close
    /// never returns, and a process asked to stop would hang.
    private func close() {
        let closeQueue = rd_kafka_queue_new(handle.pointer)!
        defer { rd_kafka_queue_destroy(closeQueue) }
        if let error = rd_kafka_consumer_close_queue(handle.pointer, closeQueue) {
            let failure = KafkaError.consuming(error, operation: "rd_kafka_consumer_close_queue")
            logger.warning("consumer close failed", metadata: ["error": "\(failure)"])
            handle.closesConsumerOnDestroy = false
            return
        }
        let deadline = ContinuousClock.now + closeTimeout
        while rd_kafka_consumer_closed(handle.pointer) == 0 {
            guard ContinuousClock.now < deadline else {
                logger.warning(
                    "consumer close timed out: the broker did not answer; the group drops this member after its session timeout",
                    metadata: ["timeout": "\(closeTimeout)"])
                // Destroying the handle would otherwise start the same blocking close again.
                handle.closesConsumerOnDestroy = false
                return
            }
            rd_kafka_queue_poll_callback(closeQueue, 100)
        }
    }

    private func consumeUntilStopped(handler: (ConsumedBatch) -> Void) {
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxBatchSize)
        defer { messages.deallocate() }
        var topicNames: [OpaquePointer: String] = [:]
        var records: [ConsumedRecord] = []
        records.reserveCapacity(maxBatchSize)
        var lagRefreshed = ContinuousClock.now - .seconds(1)
        while !stopping.load(ordering: .acquiring) {
            if ContinuousClock.now - lagRefreshed >= .seconds(1) {
                lagRefreshed = .now
                let current = lag()
                recentLagState.withLock { $0 = current }
            }
            // Wait for one record only: a batch call waits out its whole timeout to fill the batch.
            guard let first = rd_kafka_consume_queue(queue, 100) else { continue }
            messages[0] = first
            let more = rd_kafka_consume_batch_queue(queue, 0, messages + 1, maxBatchSize - 1)
            let count = 1 + max(0, more)
            records.removeAll(keepingCapacity: true)
            for index in 0..<count {
                let message = UnsafePointer(messages[index]!)
                guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    report(failedMessage: message)
                    continue
                }
                let topicHandle = message.pointee.rkt!
                let topic = topicNames[topicHandle] ?? String(cString: rd_kafka_topic_name(topicHandle))
                topicNames[topicHandle] = topic
                records.append(ConsumedRecord(message: message, topic: topic))
            }
            if !records.isEmpty {
                handler(ConsumedBatch(records: records))
                recordPositions(of: records)
            }
            // The messages are ours until destroyed here, after the handler returned.
            for index in 0..<count {
                rd_kafka_message_destroy(messages[index])
            }
        }
    }

    /// One message from the consumer queue, for an owner that reads on its own thread instead
    /// of `start`; the caller destroys it with rd_kafka_message_destroy.
    func consumeOne(timeoutMilliseconds: Int32) -> UnsafeMutablePointer<rd_kafka_message_t>? {
        rd_kafka_consume_queue(queue, timeoutMilliseconds)
    }

    /// Events (statistics, errors) and records waiting in the consumer queue. librdkafka queues a
    /// statistics event per interval and keeps it until the queue is served, however long that takes.
    var queuedEvents: Int { Int(rd_kafka_queue_length(queue)) }

    private func recordPositions(of records: [ConsumedRecord]) {
        positions.withLock { positions in
            for record in records {
                positions[TopicPartition(topic: record.topic, partition: record.partition)] = record.offset + 1
            }
        }
    }

    private func report(failedMessage message: UnsafePointer<rd_kafka_message_t>) {
        let error = KafkaError.librdkafka(
            message.pointee.err, message: String(cString: rd_kafka_message_errstr(message)),
            operation: "rd_kafka_consume_batch_queue")
        logger.warning("consume error", metadata: ["error": "\(error)"])
    }

    /// Next offset to hand to the application, per partition that has delivered a record.
    func currentPositions() -> [TopicPartition: Int64] {
        positions.withLock { $0 }
    }

    /// The high watermark librdkafka cached from its last fetch of each assigned partition;
    /// absent until that partition's first fetch response, so presence means fetching has started.
    func highWatermarks() -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        forEachAssigned { partition, _, _, high in
            if high >= 0 { result[partition] = high }
        }
        return result
    }

    /// Calls `body` with each assigned partition, its librdkafka position and cached low and high watermarks.
    private func forEachAssigned(_ body: (TopicPartition, Int64, Int64, Int64) -> Void) {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle.pointer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else {
            return
        }
        // librdkafka allocated the list; freed once read.
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        rd_kafka_position(handle.pointer, assignment)
        for entry in UnsafeBufferPointer(start: assignment.pointee.elems, count: Int(assignment.pointee.cnt)) {
            var low: Int64 = 0
            var high: Int64 = 0
            rd_kafka_get_watermark_offsets(handle.pointer, entry.topic, entry.partition, &low, &high)
            body(TopicPartition(topic: String(cString: entry.topic), partition: entry.partition), entry.offset, low, high)
        }
    }

    /// `lag()` as the consume thread last computed it (at most about a second old, while no
    /// handler call holds the thread): other threads read it without calling librdkafka.
    var recentLag: [String: Int64] { recentLagState.withLock { $0 } }

    /// High watermark minus position, summed per topic, over the current assignment. Uses the
    /// watermarks librdkafka cached from its last fetch: no request to the broker.
    func lag() -> [String: Int64] {
        let delivered = currentPositions()
        var lagByTopic: [String: Int64] = [:]
        forEachAssigned { partition, librdkafkaPosition, low, high in
            let position = delivered[partition] ?? undeliveredPosition(
                start: startOffsets[partition], low: low, librdkafkaPosition: librdkafkaPosition)
            var partitionLag: Int64 = 0
            if let position, high >= 0 {
                partitionLag = max(0, high - position)
            }
            lagByTopic[partition.topic, default: 0] += partitionLag
        }
        return lagByTopic
    }

    /// The next offset the handler will see on a partition that has delivered nothing yet.
    private func undeliveredPosition(start: Int64?, low: Int64, librdkafkaPosition: Int64) -> Int64? {
        if let start, start >= 0 { return start }
        if start == Int64(RD_KAFKA_OFFSET_BEGINNING) { return low }
        // End, a tail or unknown (group assignment): librdkafka's position is the best there is.
        return librdkafkaPosition >= 0 ? librdkafkaPosition : nil
    }
}

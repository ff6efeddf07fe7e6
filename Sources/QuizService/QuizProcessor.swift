import Foundation
import KafkaClient
import Logging
import Quiz
import Synchronization

/// Runs the engine against Kafka: the consume thread feeds answers and get-top requests,
/// the calling thread ticks the clock; both produce what the engine returns.
public final class QuizProcessor: @unchecked Sendable {
    static let consumedTopics = [QuizTopic.answer.rawValue, QuizTopic.gettop.rawValue]
    /// One instance keeps snapshots, not the group's changelog and tops.
    static let allTopics = [QuizTopic.question, .answer, .result, .gettop, .top, .quizState].map(\.rawValue)

    private let engine: Mutex<QuizEngine>
    private let producer: KafkaProducer
    private let sender: RecordSender
    private let consumer: KafkaGroupConsumer
    private let deliveries: DeliveryTracker
    private let stopping = Atomic<Bool>(false)
    private let logger: Logger

    public init(
        bank: QuestionBank, configuration: QuizConfiguration, kafka: KafkaConfig, groupID: String,
        sessionTimeoutMs: Int, logger: Logger
    ) throws {
        self.logger = logger
        let partitionCounts = try TopicAdmin(config: kafka, logger: logger).requireTopics(Self.allTopics)
        var engine = QuizEngine(bank: bank, configuration: configuration)
        let restoredPositions = try StateRestore(
            reader: TopicReader(kafka: kafka, logger: logger),
            resultPartitions: partitionCounts[QuizTopic.result.rawValue] ?? 1, logger: logger
        ).restore(into: &engine)
        engine.badInputReporter = RecordSender.badInputReporter(logger)
        self.engine = Mutex(engine)
        let deliveries = DeliveryTracker(restoredPositions: restoredPositions, logger: logger)
        self.deliveries = deliveries
        producer = try KafkaProducer(config: kafka, logger: logger) { token, result in
            deliveries.delivered(token: token, result: result)
        }
        sender = RecordSender(producer: producer, logger: logger)
        var consumerConfig = kafka
        // A restart is assigned partitions about a session timeout after the old member left.
        consumerConfig["session.timeout.ms"] = String(sessionTimeoutMs)
        consumerConfig["heartbeat.interval.ms"] = String(max(100, sessionTimeoutMs / 3))
        consumer = try KafkaGroupConsumer(
            config: consumerConfig, groupID: groupID, topics: Self.consumedTopics, logger: logger
        )
    }

    /// Consumes and ticks until SIGINT or SIGTERM, then flushes what was produced.
    public func run(startDelay: Duration = .zero) throws {
        let signals = ShutdownSignals.install { [self] in stopping.store(true, ordering: .releasing) }
        consumer.start { [self] batch in handle(batch) }
        if startDelay > .zero {
            logger.info("first question in \(startDelay.components.seconds) s")
            let start = ContinuousClock.now + startDelay
            while !stopping.load(ordering: .acquiring) && ContinuousClock.now < start {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        logger.info("quiz running", metadata: ["round": "\(engine.withLock { $0.round })"])
        while !stopping.load(ordering: .acquiring) {
            let now = Self.nowMs()
            let positions = deliveries.resultPositions
            let (records, nextTick) = engine.withLock { engine in
                let records = engine.tick(nowMs: now, resultPositions: positions)
                return (records, engine.nextTickMs)
            }
            for record in records where record.topic == .question {
                logger.info("question published", metadata: ["value": "\(String(decoding: record.value, as: UTF8.self))"])
            }
            produce(records)
            // The clock thread sleeps until the next round event, at most 100 ms so stop is prompt.
            let afterTick = Self.nowMs()
            let wait = nextTick <= afterTick ? 1 : min(nextTick - afterTick, 100)
            Thread.sleep(forTimeInterval: Double(wait) / 1000)
        }
        logger.info("stopping")
        // Leaves the group (committing consumed offsets) so a restart is assigned partitions sooner.
        consumer.stop()
        sender.close()
        signals.forEach { $0.cancel() }
    }

    /// Prometheus text of the processors' counters.
    public func metricsText() -> [UInt8] {
        let counters = engine.withLock { engine in
            ProcessorMetrics.Counters(
                rounds: engine.roundsPublished, answersScored: engine.answersScored,
                lateAnswers: engine.lateAnswers, duplicateAnswers: engine.duplicateAnswers,
                resultsProduced: engine.resultsProduced, topReplies: engine.topRepliesProduced,
                snapshots: engine.snapshotsProduced, users: engine.userCount,
                badAnswers: engine.badAnswers, badGetTops: engine.badGetTops
            )
        }
        return ProcessorMetrics.shared.render(
            counters, failedDeliveries: deliveries.failedDeliveries, produceErrors: sender.produceErrors
        )
    }

    private func handle(_ batch: ConsumedBatch) {
        let now = Self.nowMs()
        let outgoing: [QuizRecord] = engine.withLock { engine in
            var outgoing: [QuizRecord] = []
            outgoing.reserveCapacity(batch.records.count)
            for record in batch.records {
                if record.topic == QuizTopic.answer.rawValue {
                    let outcome = engine.answerRecord(
                        key: record.keyBytes, value: record.valueBytes,
                        kafkaTimestampMs: record.timestampMilliseconds ?? now
                    )
                    if case .scored(let result) = outcome { outgoing.append(result) }
                } else if let reply = engine.getTopRecord(value: record.valueBytes, nowMs: now) {
                    outgoing.append(reply)
                }
            }
            return outgoing
        }
        produce(outgoing)
    }

    private func produce(_ records: [QuizRecord]) {
        for record in records {
            // Questions have no key: one partition keeps their seq (the offset) in order.
            sender.send(record, partition: record.topic == .question ? 0 : nil) { stopping.load(ordering: .relaxed) }
        }
    }

    private static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}

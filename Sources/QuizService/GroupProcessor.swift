import Foundation
import KafkaClient
import Logging
import Quiz
import Synchronization

/// One of several `stadium-processors` sharing the answer topic's partitions through a Kafka
/// consumer group (`--cluster`). Each owned answer partition has an engine of its own, restored
/// on assignment from the compacted changelog `quiz-scores` plus the `result` records after it.
/// Scoring is idempotent per (user, question): a checkpoint writes results, then the changelog,
/// then commits the consumed offsets, so a partition that moves replays at most the answers
/// after its last commit, and the restored answered sets recognise those already scored.
/// The owner of answer partition 0 publishes the questions; every instance follows `question`
/// and the other partitions' tops on `quiz-tops` to answer `gettop` with the global top.
public final class GroupProcessor: @unchecked Sendable {
    public struct Options: Sendable {
        public var groupID = "stadium-processors"
        public var sessionTimeoutMs = 6000
        /// The partitioner of the producers of `answer` (the gateways'): where a user's scores live.
        public var partitioner = KeyPartitioner.crc32
        /// How often results, changelog and offsets are made durable while answers come in.
        public var checkpointInterval: Duration = .milliseconds(250)
        /// How long an answer naming the next question, not seen here yet, waits for it on `question`.
        public var laterRoundWait: Duration = .seconds(2)
        public var restoreTimeout: Duration = .seconds(60)

        public init() {}
    }

    static let groupTopics = [QuizTopic.answer.rawValue, QuizTopic.gettop.rawValue]
    /// Topics partitioned alike: partition p of each holds user p's records.
    static let partitionedTopics: [QuizTopic] = [.answer, .gettop, .result, .scores, .tops]

    private struct State {
        var engines: [Int32: QuizEngine] = [:]
        /// Engines of partitions revoked here, with the offset committed for them: kept for when
        /// the partition comes back with nothing consumed elsewhere meanwhile (eager rebalances
        /// revoke and reassign everything).
        var parked: [Int32: (engine: QuizEngine, committed: Int64)] = [:]
        var generator: QuizEngine?
        /// Until then a new generator holds its first question back while its answer partitions'
        /// backlog is scored: a question published first would close the round those answers name.
        var generatorWaitsUntil: ContinuousClock.Instant?
        /// Parses gettop requests and counts their bad input and replies.
        var front: QuizEngine
        /// The newest question records (at most two: the rounds answers may name).
        var questions: [[UInt8]] = []
        var newestRound = 0
        /// A round waited for in vain: answers naming it are not waited for again (until it
        /// comes they are rejected at once), so made-up ids cannot stall scoring a wait each.
        var roundNotComing: Int?
        var remoteTops: [Int32: [RankedEntry]] = [:]
        var publishedTops: [Int32: [RankedEntry]] = [:]
        /// Next offset per consumed partition whose records are fully handled.
        var processed: [TopicPartition: Int64] = [:]
        var committed: [TopicPartition: Int64] = [:]
        /// Offset of `result` after what a partition's restore read.
        var restoredResultEnd: [Int32: Int64] = [:]
        var retired = ProcessorMetrics.Counters.zero
        var lastCheckpoint = ContinuousClock.now
        var failuresAtCheckpoint = 0
        var badTops = 0
        var restoreRejects = 0
    }

    private let bank: QuestionBank
    private let partitionConfiguration: QuizConfiguration
    private let generatorConfiguration: QuizConfiguration
    private let options: Options
    private let partitionCount: Int32
    private let state: Mutex<State>
    private let producer: KafkaProducer
    private let sender: RecordSender
    private let deliveries: DeliveryTracker
    private let kafkaReads: PartitionRestore
    private var consumer: KafkaGroupConsumer!
    private let questionFollower: KafkaConsumer
    private let topsFollower: KafkaConsumer
    private let stopping = Atomic<Bool>(false)
    private let logger: Logger

    public init(
        bank: QuestionBank, configuration: QuizConfiguration, kafka: KafkaConfig, options: Options, logger: Logger
    ) throws {
        self.bank = bank
        self.options = options
        self.logger = logger
        var partitionConfiguration = configuration
        partitionConfiguration.takesSnapshots = false
        partitionConfiguration.timeOrderedSequence = true
        partitionConfiguration.keepsChangelog = true
        self.partitionConfiguration = partitionConfiguration
        var generatorConfiguration = configuration
        generatorConfiguration.takesSnapshots = false
        self.generatorConfiguration = generatorConfiguration

        let counts = try TopicAdmin(config: kafka, logger: logger).requireTopics(QuizTopic.allCases.map(\.rawValue))
        let answerPartitions = counts[QuizTopic.answer.rawValue] ?? 1
        partitionCount = answerPartitions
        let unlike = Self.partitionedTopics.filter { counts[$0.rawValue] != answerPartitions }
        guard unlike.isEmpty else {
            throw ProcessorError.partitionsDiffer(answer: answerPartitions, topics: unlike.map(\.rawValue))
        }
        var front = QuizEngine(bank: bank, configuration: partitionConfiguration)
        front.badInputReporter = RecordSender.badInputReporter(logger)
        state = Mutex(State(front: front))
        let deliveries = DeliveryTracker(restoredPositions: [:], logger: logger)
        self.deliveries = deliveries
        producer = try KafkaProducer(config: kafka, logger: logger) { token, result in
            deliveries.delivered(token: token, result: result)
        }
        sender = RecordSender(producer: producer, logger: logger)
        let kafkaReads = PartitionRestore(reader: try KafkaRangeReader(config: kafka, logger: logger), timeout: options.restoreTimeout)
        self.kafkaReads = kafkaReads

        // Questions and other partitions' tops are followed from their newest records on.
        let questionTopic = QuizTopic.question.rawValue
        var questionStart: [TopicPartition: Int64] = [:]
        for partition in 0..<(counts[questionTopic] ?? 1) {
            let topicPartition = TopicPartition(topic: questionTopic, partition: partition)
            questionStart[topicPartition] = try kafkaReads.end(of: topicPartition)
        }
        // Questions always go to partition 0; the newest two are the rounds answers may name.
        let lastQuestions = try kafkaReads.newest(2, of: TopicPartition(topic: questionTopic, partition: 0))
        var topsStart: [TopicPartition: Int64] = [:]
        var remoteTops: [Int32: [RankedEntry]] = [:]
        for partition in 0..<answerPartitions {
            let topicPartition = TopicPartition(topic: QuizTopic.tops.rawValue, partition: partition)
            topsStart[topicPartition] = try kafkaReads.end(of: topicPartition)
            if let value = try kafkaReads.newest(1, of: topicPartition).last, let top = PartitionTop(value: value) {
                remoteTops[top.partition] = top.entries
            }
        }
        state.withLock { state in
            for question in lastQuestions { Self.learn(question: question, into: &state) }
            state.remoteTops = remoteTops
        }
        questionFollower = try KafkaConsumer(config: kafka, topics: [questionTopic], start: .offsets(questionStart), logger: logger)
        topsFollower = try KafkaConsumer(config: kafka, topics: [QuizTopic.tops.rawValue], start: .offsets(topsStart), logger: logger)

        var consumerConfig = kafka
        consumerConfig["session.timeout.ms"] = String(options.sessionTimeoutMs)
        consumerConfig["heartbeat.interval.ms"] = String(max(100, options.sessionTimeoutMs / 3))
        // Range assignment gives one member partition p of answer and of gettop alike.
        consumerConfig["partition.assignment.strategy"] = "range"
        consumer = try KafkaGroupConsumer(
            config: consumerConfig, groupID: options.groupID, topics: Self.groupTopics, commitMode: .manual,
            logger: logger, onRebalance: { [unowned self] change in rebalanced(change) })
    }

    /// Consumes, checkpoints and (while owning answer partition 0) publishes questions until
    /// `stop`; then checkpoints, leaves the group and flushes.
    public func run() throws {
        questionFollower.start { [self] batch in
            state.withLock { state in
                for record in batch.records { Self.learn(question: record.valueBytes, into: &state) }
            }
        }
        topsFollower.start { [self] batch in
            state.withLock { state in
                for record in batch.records {
                    guard let top = PartitionTop(value: record.valueBytes) else {
                        state.badTops += 1
                        if state.badTops <= 10 { logger.warning("bad quiz-tops record at offset \(record.offset) ignored") }
                        continue
                    }
                    state.remoteTops[top.partition] = top.entries
                }
            }
        }
        consumer.start { [self] batch in handle(batch) }
        logger.info("processors in group \(options.groupID): waiting for partitions")
        while !stopping.load(ordering: .acquiring) {
            let waiting = state.withLock { $0.generator != nil && $0.generatorWaitsUntil != nil }
            let backlogHandled = waiting && answerBacklogHandled()
            let records = state.withLock { state -> [QuizRecord] in
                guard state.generator != nil else { return [] }
                if let until = state.generatorWaitsUntil {
                    guard backlogHandled || ContinuousClock.now >= until else { return [] }
                    state.generatorWaitsUntil = nil
                }
                let records = state.generator!.tick(nowMs: Self.nowMs())
                for record in records where record.topic == .question { Self.learn(question: record.value, into: &state) }
                return records
            }
            for record in records where record.topic == .question {
                logger.info("question published", metadata: ["value": "\(String(decoding: record.value, as: UTF8.self))"])
            }
            produce(records)
            checkpoint(force: false)
            // The restore reader reads only on assignment: its statistics are served here meanwhile.
            kafkaReads.reader.serveEvents()
            // The clock thread wakes every 50 ms: the next question and the next checkpoint are never later than that.
            Thread.sleep(forTimeInterval: 0.05)
        }
        logger.info("stopping")
        // Leaving the group revokes every partition: the handler checkpoints them first.
        consumer.stop()
        questionFollower.stop()
        topsFollower.stop()
        sender.close()
    }

    /// Whether every held answer partition was handled up to the end its last fetch saw.
    private func answerBacklogHandled() -> Bool {
        let watermarks = consumer.highWatermarks()
        let positions = consumer.positions()
        return state.withLock { state in
            state.engines.keys.allSatisfy { partition in
                let topicPartition = TopicPartition(topic: QuizTopic.answer.rawValue, partition: partition)
                guard let high = watermarks[topicPartition] else { return false }
                return max(positions[topicPartition] ?? 0, state.committed[topicPartition] ?? 0) >= high
            }
        }
    }

    // MARK: - Records

    /// Each record is scored, its output queued and its offset noted under one lock, so a
    /// checkpoint never commits an answer whose result is not queued before it.
    private func handle(_ batch: ConsumedBatch) {
        for record in batch.records {
            let position = TopicPartition(topic: record.topic, partition: record.partition)
            let key = record.keyBytes
            let value = record.valueBytes
            if record.topic == QuizTopic.answer.rawValue {
                let timestamp = record.timestampMilliseconds ?? Self.nowMs()
                if let round = score(key: key, value: value, partition: record.partition, timestamp: timestamp, position: position, offset: record.offset, deferLaterRounds: true) {
                    // The question follower may trail the gateways a little: wait for it, bounded.
                    let deadline = ContinuousClock.now + options.laterRoundWait
                    while state.withLock({ $0.newestRound < round && $0.roundNotComing != round }) {
                        guard ContinuousClock.now < deadline, !stopping.load(ordering: .relaxed) else {
                            state.withLock { $0.roundNotComing = round }
                            break
                        }
                        Thread.sleep(forTimeInterval: 0.005)
                    }
                    _ = score(key: key, value: value, partition: record.partition, timestamp: timestamp, position: position, offset: record.offset, deferLaterRounds: false)
                }
            } else {
                state.withLock { state in
                    getTop(key: key, value: value, state: &state)
                    state.processed[position] = record.offset + 1
                }
            }
        }
    }

    /// Scores one answer and queues its result; returns the round to wait for instead when the
    /// answer names a question not known yet (and `deferLaterRounds`).
    private func score(
        key: [UInt8]?, value: [UInt8], partition: Int32, timestamp: Int64, position: TopicPartition, offset: Int64,
        deferLaterRounds: Bool
    ) -> Int? {
        state.withLock { state -> Int? in
            guard let outcome = state.engines[partition]?.answerRecord(
                key: key, value: value, kafkaTimestampMs: timestamp, deferLaterRounds: deferLaterRounds)
            else {
                logger.warning("answer of partition \(partition), not held here, ignored")
                return nil
            }
            switch outcome {
            case .laterRound(let round):
                return round
            case .scored(let result):
                produce(result, partition: partition)
            case .duplicate, .rejected:
                break
            }
            state.processed[position] = offset + 1
            return nil
        }
    }

    private func getTop(key: [UInt8]?, value: [UInt8], state: inout State) {
        guard let user = state.front.getTopUser(value: value, nowMs: Self.nowMs()).map(Array.init) else { return }
        let userPartition = options.partitioner.partition(of: user, partitions: partitionCount)
        let route = GetTopRoute.choose(
            userPartition: userPartition, ownsUserPartition: state.engines[userPartition] != nil, forwarded: key != nil)
        let name = String(decoding: user, as: UTF8.self)
        let top: [RankedEntry]
        let score: Int64
        switch route {
        case .forward(let partition):
            produce(QuizRecord(topic: .gettop, key: user, value: value), partition: partition)
            return
        case .answer:
            top = mergedTop(state: &state)
            score = state.engines[userPartition]?.total(of: name) ?? 0
        case .answerFromTop:
            top = mergedTop(state: &state)
            score = top.first { $0.name == name }?.score ?? 0
        }
        state.front.countTopReply()
        produce(QuizRecord(topic: .top, key: user, value: QuizEngine.topReply(score: score, entries: top)), partition: nil)
    }

    /// Owned partitions' live tops with the last published tops of the others.
    private func mergedTop(state: inout State) -> [RankedEntry] {
        var tops: [[RankedEntry]] = []
        for partition in state.engines.keys.sorted() {
            tops.append(state.engines[partition]!.rankedTop())
        }
        for (partition, top) in state.remoteTops where state.engines[partition] == nil {
            tops.append(top)
        }
        return LeaderboardMerge.merge(tops, count: partitionConfiguration.topCount)
    }

    private static func learn(question value: [UInt8], into state: inout State) {
        guard let round = QuizEngine.round(ofQuestionRecord: value) else { return }
        if round >= state.newestRound {
            state.newestRound = round
        }
        if !state.questions.contains(value) {
            state.questions.append(value)
            if state.questions.count > 2 { state.questions.removeFirst(state.questions.count - 2) }
        }
        for partition in Array(state.engines.keys) {
            try? state.engines[partition]!.restore(questionRecord: value)
        }
        try? state.generator?.restore(questionRecord: value)
    }

    // MARK: - Checkpoints

    /// Results acknowledged, then the changelog of every changed score, then the offsets of what
    /// was handled: a crash anywhere in between replays answers whose results or scores the next
    /// owner restores, so they count once. Skipped (no commit) when a record was not delivered.
    /// `force` (partitions leaving): at once, and a refused commit is expected news, not an error
    /// (the development broker refuses commits once a rebalance has begun).
    private func checkpoint(force: Bool) {
        state.withLock { state in
            let due = ContinuousClock.now - state.lastCheckpoint >= options.checkpointInterval
            let pending = state.processed.contains { state.committed[$0.key] != $0.value }
            guard force || (due && pending) else { return }
            state.lastCheckpoint = ContinuousClock.now
            do {
                try producer.flush(timeout: .seconds(10))
                var changelog: [(QuizRecord, Int32)] = []
                for partition in state.engines.keys.sorted() where state.engines[partition]!.hasChangelogRecords {
                    let resultOffset = max(
                        deliveries.resultPositions[partition] ?? 0, state.restoredResultEnd[partition] ?? 0)
                    for (key, value) in state.engines[partition]!.changelogRecords(resultOffset: resultOffset) {
                        changelog.append((QuizRecord(topic: .scores, key: key, value: value), partition))
                    }
                }
                for (record, partition) in changelog { produce(record, partition: partition) }
                try producer.flush(timeout: .seconds(10))
                let failures = deliveries.failedDeliveries
                guard failures == state.failuresAtCheckpoint else {
                    state.failuresAtCheckpoint = failures
                    logger.error("records not delivered: offsets not committed; a new owner replays them")
                    return
                }
                let offsets = state.processed.filter { state.committed[$0.key] != $0.value }
                try consumer.commit(offsets)
                state.committed.merge(offsets) { $1 }
            } catch {
                if force {
                    logger.warning("offsets not committed before the partitions left: their next owner replays the answers since the last commit and recognises those already scored", metadata: ["error": "\(error)"])
                } else {
                    logger.error("checkpoint failed: \(error)")
                }
                return
            }
            publishTops(state: &state)
        }
    }

    private func publishTops(state: inout State) {
        for partition in state.engines.keys.sorted() {
            let top = state.engines[partition]!.rankedTop()
            guard state.publishedTops[partition] != top else { continue }
            state.publishedTops[partition] = top
            produce(QuizRecord(topic: .tops, key: Array("\(partition)".utf8), value: PartitionTop(partition: partition, entries: top).encoded()), partition: partition)
        }
    }

    // MARK: - Rebalances

    private func rebalanced(_ change: Rebalance) {
        switch change {
        case .revoked(let partitions):
            logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
            checkpoint(force: true)
            state.withLock { state in
                for partition in partitions {
                    state.processed[partition] = nil
                    guard partition.topic == QuizTopic.answer.rawValue,
                          let engine = state.engines.removeValue(forKey: partition.partition) else { continue }
                    state.publishedTops[partition.partition] = nil
                    if let committed = state.committed[partition] {
                        state.parked[partition.partition] = (engine, committed)
                    } else {
                        state.retired.add(engine)
                    }
                    if partition.partition == 0, let generator = state.generator {
                        state.retired.rounds += generator.roundsPublished
                        state.generator = nil
                        logger.info("no longer the question generator")
                    }
                }
                state.committed = state.committed.filter { !partitions.contains($0.key) }
            }
        case .assigned(let partitions):
            logger.info("partitions assigned", metadata: ["partitions": "\(partitions)"])
            let answers = partitions.filter { $0.topic == QuizTopic.answer.rawValue }
            let committed = (try? consumer.committed(answers)) ?? [:]
            for partition in answers {
                assign(partition, committed: committed[partition])
            }
            if answers.contains(where: { $0.partition == 0 }) { becomeGenerator() }
            state.withLock { publishTops(state: &$0) }
        }
    }

    /// Installs the partition's engine: the parked one if nobody consumed it meanwhile, else
    /// restored from the changelog and the results after it. Runs before any of its records.
    private func assign(_ partition: TopicPartition, committed: Int64?) {
        let number = partition.partition
        let reused = state.withLock { state -> Bool in
            guard let parked = state.parked.removeValue(forKey: number) else { return false }
            if committed == parked.committed {
                state.engines[number] = parked.engine
                if let committed { state.committed[partition] = committed }
                return true
            }
            state.retired.add(parked.engine)
            return false
        }
        if reused {
            logger.info("partition \(number) kept: nothing consumed elsewhere since it left")
            return
        }
        let started = ContinuousClock.now
        var engine = QuizEngine(bank: bank, configuration: partitionConfiguration)
        engine.badInputReporter = RecordSender.badInputReporter(logger)
        for question in state.withLock({ $0.questions }) { try? engine.restore(questionRecord: question) }
        let outcome: PartitionRestore.Outcome
        do {
            outcome = try kafkaReads.restore(partition: number, into: &engine)
        } catch {
            // Scoring without the partition's state could count answers twice: stop instead.
            logger.critical("restoring partition \(number) failed: \(error)")
            exit(1)
        }
        // Questions learnt while reading are applied again (merges are idempotent).
        state.withLock { state in
            for question in state.questions { try? engine.restore(questionRecord: question) }
            state.engines[number] = engine
            state.restoredResultEnd[number] = outcome.resultEnd
            state.restoreRejects += outcome.rejected
            if let committed { state.committed[partition] = committed }
        }
        logger.info("partition \(number) restored", metadata: [
            "users": "\(engine.userCount)", "changelog_records": "\(outcome.changelogRecords)",
            "results_after": "\(outcome.resultRecords)", "rejected": "\(outcome.rejected)",
            "seconds": "\(ContinuousClock.now - started)",
        ])
    }

    /// Continues the question sequence and timing from the last question on Kafka.
    private func becomeGenerator() {
        var generator = QuizEngine(bank: bank, configuration: generatorConfiguration)
        // The last question may be newer than what the follower has handed over yet.
        let last = try? kafkaReads.newest(1, of: TopicPartition(topic: QuizTopic.question.rawValue, partition: 0))
        for question in last ?? [] { try? generator.restore(questionRecord: question) }
        state.withLock { state in
            for question in state.questions { try? generator.restore(questionRecord: question) }
            state.generator = generator
            state.generatorWaitsUntil = ContinuousClock.now + .milliseconds(generatorConfiguration.answerWindowMs)
            logger.info("question generator", metadata: ["last_round": "\(generator.round)"])
        }
    }

    // MARK: - Producing and metrics

    private func produce(_ records: [QuizRecord]) {
        for record in records { produce(record, partition: record.topic == .question ? 0 : nil) }
    }

    private func produce(_ record: QuizRecord, partition: Int32?) {
        sender.send(record, partition: partition) { stopping.load(ordering: .relaxed) }
    }

    /// Ends `run` from any thread (the executable calls it on SIGTERM or SIGINT).
    public func stop() {
        stopping.store(true, ordering: .releasing)
    }

    /// Prometheus text: the counters of every engine this instance held, the generator's rounds.
    public func metricsText() -> [UInt8] {
        let counters = state.withLock { state in
            var counters = state.retired
            for engine in state.engines.values { counters.add(engine) }
            for parked in state.parked.values { counters.add(parked.engine) }
            counters.add(state.front)
            counters.rounds = state.retired.rounds + (state.generator?.roundsPublished ?? 0)
            counters.users = state.engines.values.reduce(0) { $0 + $1.userCount }
            counters.badTops = state.badTops
            counters.restoreRejects = state.restoreRejects
            return counters
        }
        return ProcessorMetrics.shared.render(
            counters, failedDeliveries: deliveries.failedDeliveries, produceErrors: sender.produceErrors)
    }

    private static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}

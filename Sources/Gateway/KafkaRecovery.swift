// Reads from Kafka what a client resuming with `since` missed and this gateway never held (it
// started later, or another instance served the client) or let go of: seq is the Kafka offset,
// so any instance can resume any client. One thread with its own consumer handle, so live
// fan-out never waits for it; waiting requests for the same partition share one read.
import Foundation
import KafkaClient
import Logging
import StadiumProtocol
import Synchronization
import UringIO

/// Which offsets of which partition a resuming client must get from Kafka. Pure: unit-tested.
struct RecoveryPlanner: Sendable {
    let partitionCounts: [String: Int32]
    /// Where this gateway started reading each partition: it saw every record from there on.
    let startOffsets: [TopicPartition: Int64]
    let partitioner: KeyPartitioner

    struct Plan: Equatable {
        let partition: TopicPartition
        /// The subject's key; nil for a subject without one (a one-partition topic).
        let key: [UInt8]?
        let offsets: Range<Int64>
    }

    /// nil when memory holds everything after `afterSeq`, or when the subject's records cannot
    /// be found by offset (no key on a topic of several partitions: its seqs are not one sequence).
    func plan(
        subject: String, afterSeq: Int64, learnedPartition: Int32?, evictedThrough: Int64?,
        forgottenThrough: (TopicPartition) -> Int64? = { _ in nil }
    ) -> Plan? {
        guard let topicPartition = partition(of: subject, learned: learnedPartition) else { return nil }
        let keyBytes = SubjectMapping.topicAndKey(for: subject).key.map { Array($0.utf8) }
        guard let start = startOffsets[topicPartition] else { return nil }
        // Memory holds every record of the subject from here on: what it let go of is older, and
        // so is what went with subjects it forgot (a forgotten subject's own history is gone).
        let letGo = max(evictedThrough ?? -1, forgottenThrough(topicPartition) ?? -1)
        let heldFrom = max(start, letGo < .max ? letGo + 1 : .max)
        // Written so that a since (or a seq) of Int64.max cannot overflow.
        guard afterSeq < heldFrom - 1 else { return nil }
        return Plan(partition: topicPartition, key: keyBytes, offsets: (afterSeq + 1)..<heldFrom)
    }

    /// For a subject without a key resumed with a cursor (the last offset the client saw per
    /// partition): per partition of its topic, the offsets after the cursor that memory does not
    /// hold, to read from Kafka, and the floor through which the client has the subject once they
    /// are read. A partition absent from the cursor counts as nothing missed there: its floor is
    /// its position here; partitions the topic does not have are ignored.
    func cursorPlan(
        subject: String, cursor: [Int32: Int64], positions: [Int32: Int64], evictedThrough: [Int32: Int64],
        forgottenThrough: (TopicPartition) -> Int64? = { _ in nil }
    ) -> (plans: [Plan], floors: [Int32: Int64]) {
        let topic = SubjectMapping.topicAndKey(for: subject).topic
        var plans: [Plan] = []
        var floors: [Int32: Int64] = [:]
        for (partition, position) in positions.sorted(by: { $0.key < $1.key }) {
            let has = cursor[partition] ?? position
            let topicPartition = TopicPartition(topic: topic, partition: partition)
            guard let start = startOffsets[topicPartition] else {
                floors[partition] = has
                continue
            }
            // As for a keyed subject: memory holds this partition's records of the subject from here on.
            let letGo = max(evictedThrough[partition] ?? -1, forgottenThrough(topicPartition) ?? -1)
            let heldFrom = max(start, letGo < .max ? letGo + 1 : .max)
            if has < heldFrom - 1 {
                plans.append(Plan(partition: topicPartition, key: nil, offsets: (has + 1)..<heldFrom))
                floors[partition] = heldFrom - 1
            } else {
                floors[partition] = has
            }
        }
        return (plans, floors)
    }

    /// The one partition that holds every record of `subject`: its key's (the one its records
    /// came from, or the partitioner's), or partition 0 of a one-partition topic. nil when its
    /// records come from several partitions (no key) or its topic is not consumed here.
    func partition(of subject: String, learned: Int32?) -> TopicPartition? {
        let (topic, key) = SubjectMapping.topicAndKey(for: subject)
        guard let partitions = partitionCounts[topic], partitions > 0 else { return nil }
        if let key {
            return TopicPartition(topic: topic, partition: learned ?? partitioner.partition(of: Array(key.utf8), partitions: partitions))
        }
        return partitions == 1 ? TopicPartition(topic: topic, partition: 0) : nil
    }

    /// The newest `maxRecords` offsets of `offsets`, and the older ones left out as a gap.
    static func bounded(_ offsets: Range<Int64>, maxRecords: Int64) -> (read: Range<Int64>, gap: ClosedRange<Int64>?) {
        let start = max(offsets.lowerBound, offsets.upperBound - maxRecords)
        return (start..<offsets.upperBound, start > offsets.lowerBound ? offsets.lowerBound...(start - 1) : nil)
    }
}

final class KafkaRecovery: @unchecked Sendable {
    struct Request {
        let plan: RecoveryPlanner.Plan
        let subject: SubjectID
        let subjectName: String
        let ring: Int
        let slot: UInt32
        let connection: UInt32
        /// Tells this request's answer from an older one for the same subscription.
        let id: UInt64
    }

    /// What a request brings back to its ring: a gap for what Kafka no longer has (or what is past
    /// the bound), the subject's records as frames, and the last offset covered.
    struct Delivery {
        let slot: UInt32
        let connection: UInt32
        let subject: SubjectID
        let id: UInt64
        let gap: ClosedRange<Int64>?
        let frames: [FrameHandle]
        let through: Int64
        /// The partition read (a cursor's gap names it).
        let partition: Int32
    }

    let planner: RecoveryPlanner
    /// The next offset the gateway's own consumer will hand to the hub, per partition.
    let nextToDeliver: @Sendable (TopicPartition) -> Int64?
    private let reader: KafkaRangeReader
    private let hub: FanoutHub
    private let writer: FrameWriter
    private let metrics: GatewayMetrics
    private let maxRecords: Int64
    private let timeout: Duration
    private let logger: Logger
    private let pending = Mutex<[Request]>([])
    /// Records of one subject handed to one client per resume at most, as frames waiting in its backlog.
    static let maxFramesPerRequest = 10_000
    private let wakeup = DispatchSemaphore(value: 0)
    /// How often an idle recovery thread serves the reader's events: librdkafka's statistics
    /// interval, so at most one or two wait.
    static let idleServeInterval = DispatchTimeInterval.seconds(1)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    init(
        config: KafkaConfig, planner: RecoveryPlanner, nextToDeliver: @escaping @Sendable (TopicPartition) -> Int64?,
        hub: FanoutHub, metrics: GatewayMetrics, maxRecords: Int64, timeout: Duration, logger: Logger
    ) throws(KafkaError) {
        reader = try KafkaRangeReader(config: config)
        self.planner = planner
        self.nextToDeliver = nextToDeliver
        self.hub = hub
        self.writer = FrameWriter(frames: hub.frames)
        self.metrics = metrics
        self.maxRecords = maxRecords
        self.timeout = timeout
        self.logger = logger
    }

    func start() {
        started.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                // Woken by a request, or after a while idle to serve the reader's queued events.
                _ = wakeup.wait(timeout: .now() + Self.idleServeInterval)
                reader.serveEvents()
                while let group = takeGroup() { serve(group) }
            }
            finished.signal()
        }
        thread.name = "kafka-recovery"
        thread.start()
    }

    func stop() {
        guard started.load(ordering: .acquiring) else { return }
        stopping.store(true, ordering: .releasing)
        wakeup.signal()
        finished.wait()
    }

    /// Events the reader has waiting (statistics, errors): bounded while the recovery thread runs.
    var queuedReaderEvents: Int { reader.queuedEvents }

    /// Up once the reader's statistics were served and showed a broker connection.
    var readerConnectivity: BrokerConnectivity { reader.connectivity }

    func submit(_ request: Request) {
        pending.withLock { $0.append(request) }
        wakeup.signal()
    }

    /// The oldest waiting request and every other waiting one for the same partition whose
    /// range lies close to it (one read serves them all; far apart ones read on their own).
    private func takeGroup() -> [Request]? {
        pending.withLock { pending in
            guard let first = pending.first else { return nil }
            let near = RecoveryPlanner.bounded(first.plan.offsets, maxRecords: maxRecords).read
            func joins(_ request: Request) -> Bool {
                let read = RecoveryPlanner.bounded(request.plan.offsets, maxRecords: maxRecords).read
                return request.plan.partition == first.plan.partition
                    && read.lowerBound <= near.upperBound + maxRecords && near.lowerBound <= read.upperBound + maxRecords
            }
            let group = pending.filter(joins)
            pending.removeAll(where: joins)
            return group
        }
    }

    private func serve(_ group: [Request]) {
        let bounds = group.map { RecoveryPlanner.bounded($0.plan.offsets, maxRecords: maxRecords) }
        let union = bounds.map(\.read.lowerBound).min()!..<bounds.map(\.read.upperBound).max()!
        let keys = Set(group.map(\.plan.key))
        let read: RangeRead
        do {
            read = try reader.read(group[0].plan.partition, offsets: union, timeout: timeout) { key in
                keys.contains(key.map { Array($0) })
            }
        } catch {
            metrics.count(.kafkaUnavailable)
            logger.warning("recovery read failed; the clients get a gap", metadata: [
                "partition": "\(group[0].plan.partition)", "error": "\(error)"])
            for (request, bound) in zip(group, bounds) {
                deliver(request, gap: request.plan.offsets.lowerBound...(bound.read.upperBound - 1), records: [])
            }
            return
        }
        metrics.recoveryReads.increment()
        for (request, bound) in zip(group, bounds) {
            var records = read.records.filter { bound.read.contains($0.offset) && $0.key == request.plan.key }
            var bound = bound
            if records.count > Self.maxFramesPerRequest {
                // Frames wait in the client's backlog: keep the newest, the older ones are a gap.
                records.removeFirst(records.count - Self.maxFramesPerRequest)
                bound.read = records[0].offset..<bound.read.upperBound
            }
            // Gone from Kafka (retention) or past the bound: either way a gap before what is read.
            let firstRead = min(max(bound.read.lowerBound, read.firstAvailable), request.plan.offsets.upperBound)
            let gap = firstRead > request.plan.offsets.lowerBound ? request.plan.offsets.lowerBound...(firstRead - 1) : nil
            deliver(request, gap: gap, records: records)
        }
    }

    private func deliver(_ request: Request, gap: ClosedRange<Int64>?, records: [StoredRecord]) {
        var frames: [FrameHandle] = []
        var subject = request.subjectName
        var gap = gap
        // A subject without a key spans partitions: its messages say which one, as live ones do.
        let partition = request.plan.key == nil ? request.plan.partition.partition : nil
        subject.withUTF8 { subjectBytes in
            for record in records {
                do {
                    let frame = try record.value.withUnsafeBytes { value in
                        try writer.message(
                            subject: UnsafeRawBufferPointer(subjectBytes).bytes, seq: record.offset, partition: partition,
                            data: MessageData(recordValue: value.bytes), retained: false
                        ).handOver()
                    }
                    // The delivery holds raw handles until its ring adopts them into a backlog.
                    frames.append(frame)
                } catch {
                    // The frame pool is spent: what could not be encoded becomes a gap.
                    for frame in frames { hub.frames.release(frame) }
                    frames = []
                    hub.messageNotEncoded(subject: request.subjectName, seq: record.offset, error)
                    gap = request.plan.offsets.lowerBound...(request.plan.offsets.upperBound - 1)
                    return
                }
            }
        }
        metrics.messagesRecovered.increment(by: Int64(frames.count))
        hub.recovered(ring: request.ring, Delivery(
            slot: request.slot, connection: request.connection, subject: request.subject, id: request.id, gap: gap,
            frames: frames,
            through: request.plan.offsets.upperBound - 1, partition: request.plan.partition.partition))
    }
}

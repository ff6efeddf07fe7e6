// Kafka records in, frames out: each record is encoded once (live and retained forms) and
// handed to every ring; `/T` for a null key, `/T/K` for key K; `seq` is the Kafka offset.
import Foundation
import KafkaClient
import StadiumProtocol
import UringIO

final class KafkaFanout: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let hub: FanoutHub
    private let writer: FrameWriter
    private let kafkaMetrics: KafkaMetrics
    private let metrics: GatewayMetrics

    init(config: KafkaConfig, topics: [String], replayLast: Int64, hub: FanoutHub, metrics: GatewayMetrics, kafkaMetrics: KafkaMetrics) throws(KafkaError) {
        // Replaying the last records of each partition rebuilds every subject's retained message.
        consumer = try KafkaConsumer(config: config, topics: topics, start: replayLast > 0 ? .back(replayLast) : .end)
        self.hub = hub
        self.writer = FrameWriter(frames: hub.frames)
        self.kafkaMetrics = kafkaMetrics
        self.metrics = metrics
    }

    var connectivity: BrokerConnectivity { consumer.connectivity }

    /// Refreshed on the consume thread: /metrics reads it on a ring thread without calling librdkafka.
    func lag() -> [String: Int64] { consumer.recentLag() }

    var partitionCounts: [String: Int32] { consumer.partitionCounts }

    /// The next offset of `partition` this gateway will hand to the hub.
    func nextToDeliver(_ partition: TopicPartition) -> Int64? {
        consumer.positions()[partition] ?? consumer.startOffset(of: partition)
    }

    /// Where the consumer started each partition: every record from there on reaches the hub.
    var startOffsets: [TopicPartition: Int64] {
        consumer.partitions.reduce(into: [:]) { offsets, partition in
            offsets[partition] = consumer.startOffset(of: partition)
        }
    }

    func start() {
        consumer.start { [self] batch in
            for record in batch.records { fanOut(record) }
        }
    }

    func stop() {
        consumer.stop()
    }

    private func fanOut(_ record: ConsumedRecord) {
        kafkaMetrics.consumed(topic: record.topic)
        let key = record.key.map { String(decoding: $0, as: UTF8.self) }
        guard let name = SubjectMapping.subject(topic: record.topic, key: key) else {
            metrics.count(.badSubject)
            return
        }
        let value = record.value
        let data = MessageData(recordValue: value.bytes)
        // A subject without a key spans the topic's partitions: its messages say which one.
        let partition = key == nil ? record.partition : nil
        var subjectName = name
        subjectName.withUTF8 { utf8 in
            let subjectBuffer = UnsafeRawBufferPointer(utf8)
            let subjectBytes = subjectBuffer.bytes
            do {
                let live = try writer.message(subject: subjectBytes, seq: record.offset, partition: partition, data: data, retained: false)
                let retained = try writer.message(subject: subjectBytes, seq: record.offset, partition: partition, data: data, retained: true)
                if let timestamp = record.timestampMilliseconds { live.stamp(originMilliseconds: timestamp) }
                hub.publish(name, seq: record.offset, partition: record.partition, keyless: key == nil, live: live, retained: retained)
            } catch {
                hub.messageNotEncoded(subject: name, seq: record.offset, error)
            }
        }
    }
}

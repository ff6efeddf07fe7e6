import Foundation
import KafkaClient
import Logging
import Synchronization

/// Reads one topic from a start position up to the end it had when reading began: the
/// restore path. Gives up only when no record arrives for `stallTimeout`.
struct TopicReader {
    struct Record {
        let key: [UInt8]?
        let value: [UInt8]
        let partition: Int32
        let offset: Int64
    }

    let kafka: KafkaConfig
    let logger: Logger
    var stallTimeout: Duration = .seconds(30)

    /// `firstOffset` maps a partition's high watermark to the first offset to read.
    func read(
        topic: String, start: StartPosition, firstOffset: (TopicPartition, Int64) -> Int64
    ) throws -> [Record] {
        let consumer = try KafkaConsumer(config: kafka, topics: [topic], start: start, logger: logger)
        let received = Mutex<[Record]>([])
        consumer.start { batch in
            let copies = batch.records.map {
                Record(key: $0.keyBytes, value: $0.valueBytes, partition: $0.partition, offset: $0.offset)
            }
            received.withLock { $0 += copies }
        }
        defer { consumer.stop() }

        let clock = ContinuousClock()
        var lastProgress = clock.now
        var lastCount = 0
        var lastLog = clock.now
        while true {
            let count = received.withLock { $0.count }
            if count != lastCount {
                lastCount = count
                lastProgress = clock.now
            }
            let watermarks = consumer.highWatermarks()
            if watermarks.count == consumer.partitions.count {
                let positions = consumer.positions()
                let done = consumer.partitions.allSatisfy { partition in
                    let high = watermarks[partition] ?? 0
                    return (positions[partition] ?? firstOffset(partition, high)) >= high
                }
                if done { break }
                if clock.now - lastLog > .seconds(5) {
                    lastLog = clock.now
                    logger.info("restoring", metadata: ["topic": "\(topic)", "read": "\(count)"])
                }
            }
            guard clock.now - lastProgress < stallTimeout else {
                throw ProcessorError.restoreTimedOut(topic: topic, read: count)
            }
            // Polls the consumer's cached state: startup only, never on the scoring path.
            Thread.sleep(forTimeInterval: 0.02)
        }
        return received.withLock { $0 }
    }
}

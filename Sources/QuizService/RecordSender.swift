import Foundation
import KafkaClient
import Logging
import Quiz
import Synchronization

/// Produces the engine's records, waiting out a full local queue; counts what the producer refused.
final class RecordSender: Sendable {
    let producer: KafkaProducer
    private let refused = Atomic<Int>(0)
    private let logger: Logger

    init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    var produceErrors: Int { refused.load(ordering: .relaxed) }

    /// `partition` nil lets the partitioner choose from the key. Gives up on a full queue once `stopping`.
    func send(_ record: QuizRecord, partition: Int32?, stopping: () -> Bool) {
        let token = record.topic == .result ? DeliveryTracker.resultToken : DeliveryTracker.otherToken
        while true {
            do {
                try producer.produce(
                    topic: record.topic.rawValue, key: record.key, value: record.value, partition: partition, token: token)
                return
            } catch where error.kind == .queueFull && !stopping() {
                // Back-pressure: librdkafka's queue drains as the broker acknowledges.
                Thread.sleep(forTimeInterval: 0.001)
            } catch {
                if refused.add(1, ordering: .relaxed).newValue <= 10 {
                    logger.error("produce to \(record.topic.rawValue) failed: \(error)")
                }
                return
            }
        }
    }

    /// Bounded: the demo's stop script kills after 10 s; what is unacknowledged is rebuilt on restart.
    func close() {
        do {
            try producer.close(timeout: .seconds(4))
        } catch {
            logger.warning("stopped with records unacknowledged: \(error)")
        }
    }

    /// Logs rejected input records, as the engine's rate limit lets them through.
    static func badInputReporter(_ logger: Logger) -> (BadInputReport) -> Void {
        { report in
            logger.warning("bad \(report.source.rawValue) record", metadata: [
                "reason": "\(report.reason.rawValue)", "value": "\(report.excerpt)",
                "suppressed_before": "\(report.suppressed)",
            ])
        }
    }
}

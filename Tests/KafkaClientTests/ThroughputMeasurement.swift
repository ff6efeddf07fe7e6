import Foundation
import KafkaClient
import StadiumTestSupport
import Synchronization
import Testing

/// A measurement, not a test of speed: runs only with STADIUM_KAFKA_MEASURE=<records> and prints
/// how long producing and tailing took. It asserts only that every record arrived.
@Suite struct ThroughputMeasurement {
    static let recordCount = Int(ProcessInfo.processInfo.environment["STADIUM_KAFKA_MEASURE"] ?? "") ?? 0

    @Test(.enabled(if: recordCount > 0, "set STADIUM_KAFKA_MEASURE=<records> to run"))
    func produceAndTailIntoTheDevelopmentCluster() throws {
        let count = Self.recordCount
        let cluster = try DevelopmentCluster(partitions: 3, topics: ["bench"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        // A class holds the atomic: an escaping closure must not capture a noncopyable local.
        let received = ReceivedCount()
        let consumer = try KafkaConsumer(config: config, topics: ["bench"], start: .end)
        consumer.start { batch in received.value.wrappingAdd(batch.records.count, ordering: .relaxed) }
        defer { consumer.stop() }
        try waitUntil("tailing consumer fetching every partition") { consumer.highWatermarks().count == 3 }

        let value = [UInt8](repeating: 0x61, count: 100)
        var queueFullRetries = 0
        let start = ContinuousClock.now
        for index in 0..<count {
            while try !produced(producer, value, token: UInt64(index)) {
                queueFullRetries += 1
                Thread.sleep(forTimeInterval: 0.001)
            }
        }
        let queued = ContinuousClock.now - start
        try producer.flush(timeout: .seconds(600))
        let acknowledged = ContinuousClock.now - start
        try waitUntil("\(count) records tailed", timeout: .seconds(600)) { received.value.load(ordering: .relaxed) >= count }
        let tailed = ContinuousClock.now - start
        print("measure: \(count) records of 100 bytes: queued in \(queued), all acknowledged in \(acknowledged), all consumed in \(tailed) (queue-full retries: \(queueFullRetries))")
        #expect(received.value.load(ordering: .relaxed) == count)
    }
}

/// Queues one record; false when librdkafka's local queue is full (retry after a moment).
private func produced(_ producer: KafkaProducer, _ value: [UInt8], token: UInt64) throws -> Bool {
    do {
        try producer.produce(topic: "bench", key: nil, value: value, token: token)
        return true
    } catch {
        if error.kind == .queueFull { return false }
        throw error
    }
}

private final class ReceivedCount: Sendable {
    let value = Atomic<Int>(0)
}

import Foundation
import KafkaClient
import StadiumTestSupport
import Testing

@Suite struct LagTests {
    @Test func lagCountsRecordsNotYetHandedToTheHandler() throws {
        let cluster = try DevelopmentCluster(partitions: 2, topics: ["question", "top"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        try producer.produce(topic: "question", key: nil, value: bytes("first"), token: 0)
        try producer.flush(timeout: .seconds(30))

        let release = DispatchSemaphore(value: 0)
        let collector = RecordCollector()
        let consumer = try KafkaConsumer(config: config, topics: ["question", "top"], start: .beginning)
        // The first batch holds the consume thread until the test has looked at the lag.
        consumer.start { batch in
            collector.handle(batch)
            if collector.count == 1 { release.wait() }
        }
        // Released before stop on every path: stop waits for the handler, which waits for this.
        defer {
            release.signal()
            consumer.stop()
        }
        try waitUntil("the first record") { collector.count == 1 }
        for index in 0..<40 {
            try producer.produce(topic: "question", key: nil, value: bytes("\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))
        // The first record counts until the handler returns.
        try waitUntil("lag of 41 on question") { consumer.lag()["question"] == 41 }
        #expect(consumer.lag()["top"] == 0)

        release.signal()
        try waitUntil("all records") { collector.count == 41 }
        try waitUntil("no lag") { consumer.lag() == ["question": 0, "top": 0] }
        try waitUntil("the consume thread's copy caught up") { consumer.recentLag() == ["question": 0, "top": 0] }
    }
}

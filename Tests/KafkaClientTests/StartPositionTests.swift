import KafkaClient
import StadiumTestSupport
import Testing

@Suite struct StartPositionTests {
    @Test func backNDeliversTheLastNRecordsOfEachPartitionThenTails() throws {
        let cluster = try DevelopmentCluster(partitions: 3, topics: ["question"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        // Partition 0: 10 records, partition 1: 2 records, partition 2: none.
        for (partition, count) in [(Int32(0), 10), (Int32(1), 2)] {
            for index in 0..<count {
                try producer.produce(topic: "question", key: nil, value: bytes("p\(partition)-\(index)"), partition: partition, token: 0)
            }
        }
        try producer.flush(timeout: .seconds(30))

        let collector = RecordCollector()
        let consumer = try KafkaConsumer(config: config, topics: ["question"], start: .back(4))
        consumer.start(handler: collector.handle)
        defer { consumer.stop() }
        try waitUntil("6 replayed records") { collector.count >= 6 }
        // A marker per partition proves nothing older is still on its way.
        for partition in Int32(0)..<3 {
            try producer.produce(topic: "question", key: nil, value: bytes("marker-\(partition)"), partition: partition, token: 0)
        }
        try producer.flush(timeout: .seconds(30))
        try waitUntil("3 markers") { collector.count >= 9 }

        let byPartition = Dictionary(grouping: collector.records, by: \.partition).mapValues { $0.map(\.valueText) }
        #expect(byPartition[0] == ["p0-6", "p0-7", "p0-8", "p0-9", "marker-0"])
        #expect(byPartition[1] == ["p1-0", "p1-1", "marker-1"])
        #expect(byPartition[2] == ["marker-2"])
    }

    @Test func explicitOffsetsStartThereAndUnlistedPartitionsAtTheEnd() throws {
        let cluster = try DevelopmentCluster(partitions: 2, topics: ["result"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        for partition in Int32(0)..<2 {
            for index in 0..<5 {
                try producer.produce(topic: "result", key: nil, value: bytes("p\(partition)-\(index)"), partition: partition, token: 0)
            }
        }
        try producer.flush(timeout: .seconds(30))

        let collector = RecordCollector()
        let consumer = try KafkaConsumer(
            config: config, topics: ["result"], start: .offsets([TopicPartition(topic: "result", partition: 0): 3]))
        consumer.start(handler: collector.handle)
        defer { consumer.stop() }
        try waitUntil("2 records from offset 3") { collector.count >= 2 }
        try waitUntil("partition 1 fetching from its end") {
            consumer.highWatermarks()[TopicPartition(topic: "result", partition: 1)] == 5
        }
        try producer.produce(topic: "result", key: nil, value: bytes("marker-1"), partition: 1, token: 0)
        try producer.flush(timeout: .seconds(30))
        try waitUntil("marker") { collector.count >= 3 }
        #expect(collector.records.map(\.valueText) == ["p0-3", "p0-4", "marker-1"])
        #expect(consumer.positions() == [
            TopicPartition(topic: "result", partition: 0): 5, TopicPartition(topic: "result", partition: 1): 6,
        ])
    }
}

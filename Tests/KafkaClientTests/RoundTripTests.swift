import KafkaClient
import StadiumTestSupport
import Testing

@Suite struct RoundTripTests {
    @Test func producedRecordsAreConsumedBackExactly() throws {
        let cluster = try DevelopmentCluster(partitions: 3, topics: ["events"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let deliveries = DeliveryCollector()
        let producer = try KafkaProducer(config: config, onDelivery: deliveries.handler)
        let collector = RecordCollector()
        let consumer = try KafkaConsumer(config: config, topics: ["events"], start: .beginning)
        consumer.start(handler: collector.handle)
        defer { consumer.stop() }

        let count = 300
        for index in 0..<count {
            try producer.produce(
                topic: "events", key: bytes("user-\(index % 7)"), value: bytes("value-\(index)"),
                headers: [("seq", bytes("\(index)")), ("kind", [0, 1, 255])], token: UInt64(index))
        }
        try producer.flush(timeout: .seconds(30))
        try waitUntil("\(count) records") { collector.count >= count }

        let records = collector.records
        #expect(records.count == count)
        #expect(Set(records.map(\.valueText)) == Set((0..<count).map { "value-\($0)" }))
        for record in records {
            let index = Int(record.valueText.dropFirst("value-".count))!
            #expect(record.topic == "events")
            #expect(record.key == bytes("user-\(index % 7)"))
            #expect(record.headers == ["seq", "kind"])
            #expect(record.headerValues == [bytes("\(index)"), [0, 1, 255]])
            #expect(record.timestampMilliseconds != nil)
        }
        for partition in Set(records.map(\.partition)) {
            let offsets = records.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition) offsets contiguous from 0")
        }
        // Same key, same partition, production order kept.
        for user in 0..<7 {
            let values = records.filter { $0.key == bytes("user-\(user)") }.map(\.valueText)
            #expect(values == Array(stride(from: user, to: count, by: 7)).map { "value-\($0)" })
        }
    }

    @Test func everyDeliveryReportTokenArrivesOnce() throws {
        let cluster = try DevelopmentCluster(partitions: 3, topics: ["events"])
        let deliveries = DeliveryCollector()
        let producer = try KafkaProducer(
            config: KafkaConfig(bootstrapServers: cluster.bootstrapServers), onDelivery: deliveries.handler)
        let count = 2000
        for token in 0..<count {
            try producer.produce(topic: "events", key: nil, value: bytes("v\(token)"), token: UInt64(token))
        }
        try producer.close(timeout: .seconds(30))

        let reports = deliveries.all
        #expect(reports.map(\.token).sorted() == (0..<UInt64(count)).map { $0 })
        let delivered = reports.compactMap { try? $0.result.get() }
        #expect(delivered.count == count)
        #expect(Set(delivered.map { "\($0.partition)/\($0.offset)" }).count == count, "no two records share an offset")
    }

    @Test func produceAfterCloseFailsAsClosed() throws {
        let cluster = try DevelopmentCluster(topics: ["events"])
        let producer = try KafkaProducer(
            config: KafkaConfig(bootstrapServers: cluster.bootstrapServers), onDelivery: { _, _ in })
        try producer.close()
        #expect { try producer.produce(topic: "events", key: nil, value: [1], token: 1) } throws: { error in
            (error as? KafkaError)?.kind == .closed
        }
    }

    @Test func groupConsumerReadsFromEarliestAndResumesAfterCommit() throws {
        let cluster = try DevelopmentCluster(partitions: 2, topics: ["answer"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        for index in 0..<20 {
            try producer.produce(topic: "answer", key: bytes("k\(index)"), value: bytes("first-\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))

        let first = RecordCollector()
        let consumer = try KafkaGroupConsumer(config: config, groupID: "scorer", topics: ["answer"], commitMode: .manual)
        consumer.start(handler: first.handle)
        try waitUntil("20 records in the group") { first.count >= 20 }
        try consumer.commit()
        consumer.stop()
        #expect(Set(first.records.map(\.valueText)) == Set((0..<20).map { "first-\($0)" }))

        for index in 0..<5 {
            try producer.produce(topic: "answer", key: bytes("k\(index)"), value: bytes("second-\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))
        let second = RecordCollector()
        let resumed = try KafkaGroupConsumer(config: config, groupID: "scorer", topics: ["answer"], commitMode: .manual)
        resumed.start(handler: second.handle)
        defer { resumed.stop() }
        try waitUntil("5 new records") { second.count >= 5 }
        #expect(Set(second.records.map(\.valueText)) == Set((0..<5).map { "second-\($0)" }))
    }
}

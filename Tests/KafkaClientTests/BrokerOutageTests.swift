import Foundation
import KafkaClient
import StadiumTestSupport
import Synchronization
import Testing

@Suite struct BrokerOutageTests {
    @Test func recordsProducedDuringAnOutageAreConsumedOnceAndInOrder() throws {
        let cluster = try DevelopmentCluster(brokers: 1, partitions: 3, topics: ["events"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let deliveries = DeliveryCollector()
        let producer = try KafkaProducer(config: config, onDelivery: deliveries.handler)
        let collector = RecordCollector()
        let consumer = try KafkaConsumer(config: config, topics: ["events"], start: .beginning)
        consumer.start(handler: collector.handle)
        defer { consumer.stop() }

        func produce(_ range: Range<Int>) throws {
            for index in range {
                try producer.produce(topic: "events", key: bytes("user-\(index % 5)"), value: bytes("\(index)"), token: UInt64(index))
            }
        }
        try produce(0..<50)
        try producer.flush(timeout: .seconds(30))
        try waitUntil("records before the outage") { collector.count >= 50 }
        try waitUntil("consumer sees the broker up") { consumer.connectivity.isUp }

        try cluster.setBrokerDown(1)
        try waitUntil("consumer sees the broker down") { !consumer.connectivity.isUp }
        try produce(50..<150)
        // With the only broker down nothing can be acknowledged: flush gives up with a retriable error.
        #expect {
            try producer.flush(timeout: .milliseconds(500))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.kind == .timedOut && error.isRetriable
        }

        try cluster.setBrokerUp(1)
        try producer.flush(timeout: .seconds(60))
        try waitUntil("all records after the outage", timeout: .seconds(60)) { collector.count >= 150 }
        try waitUntil("consumer sees the broker up again") { consumer.connectivity.isUp }

        #expect(deliveries.all.allSatisfy { (try? $0.result.get()) != nil })
        let records = collector.records
        let values: [Int] = records.map { Int($0.valueText)! }.sorted()
        let expected: [Int] = Array(0..<150)
        #expect(values == expected, "each record exactly once")
        for partition in Set(records.map(\.partition)) {
            let offsets = records.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition): no gap, no duplicate")
        }
        for user in 0..<5 {
            let key: [UInt8] = bytes("user-\(user)")
            let values: [Int] = records.filter { $0.key == key }.map { Int($0.valueText)! }
            let expected: [Int] = Array(stride(from: user, to: 150, by: 5))
            #expect(values == expected, "user-\(user) in production order")
        }
        #expect(consumer.connectivity.current.outages >= 1)
    }

    @Test func deliveryTimesOutWithARetriableErrorWhileTheBrokerIsDown() throws {
        let cluster = try DevelopmentCluster(topics: ["answer"])
        try cluster.setBrokerDown(1)
        let deliveries = DeliveryCollector()
        let producer = try KafkaProducer(
            config: KafkaConfig(["bootstrap.servers": cluster.bootstrapServers, "message.timeout.ms": "300"]),
            onDelivery: deliveries.handler)
        try producer.produce(topic: "answer", key: bytes("alice"), value: bytes("42"), token: 7)
        try waitUntil("a delivery report") { deliveries.count == 1 }

        let report = deliveries.all[0]
        #expect(report.token == 7)
        #expect {
            try report.result.get()
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.kind == .delivery && error.code == .messageTimedOut && error.isRetriable && !error.isFatal
        }
    }

    @Test func aGroupMemberStopsWhenTheBrokerIsGone() throws {
        var cluster: DevelopmentCluster? = try DevelopmentCluster(partitions: 2, topics: ["answer"])
        let config = KafkaConfig(bootstrapServers: cluster!.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        for index in 0..<10 {
            try producer.produce(topic: "answer", key: bytes("k\(index)"), value: bytes("v\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))
        let revoked = Mutex(false)
        let collector = RecordCollector()
        // Automatic commits, as the quiz processor's: closing commits what was consumed, which needs the broker.
        let consumer = try KafkaGroupConsumer(
            config: config, groupID: "stops-without-broker", topics: ["answer"], closeTimeout: .seconds(2),
            onRebalance: { change in
                if case .revoked = change { revoked.withLock { $0 = true } }
            })
        consumer.start(handler: collector.handle)
        try waitUntil("10 records consumed") { collector.count >= 10 }

        // The broker goes away for good, as when its process is killed.
        cluster = nil
        // librdkafka's blocking close waits for the group coordinator forever when the broker is gone.
        let stopped = Atomic<Bool>(false)
        let stopper = Thread {
            consumer.stop()
            stopped.store(true, ordering: .releasing)
        }
        stopper.start()
        try waitUntil("stop returns with the broker down") { stopped.load(ordering: .acquiring) }
        #expect(revoked.withLock { $0 }, "the member's partitions are revoked as it leaves, broker or not")
    }

    @Test func injectedProduceErrorsAreRetriedWithoutDuplicates() throws {
        let cluster = try DevelopmentCluster(partitions: 1, topics: ["answer"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        try producer.produce(topic: "answer", key: nil, value: bytes("warm-up"), token: 0)
        try producer.flush(timeout: .seconds(30))
        cluster.failNextRequests(.produce, with: [.init(rawValue: 7), .init(rawValue: 7)])  // REQUEST_TIMED_OUT
        for index in 0..<20 {
            try producer.produce(topic: "answer", key: nil, value: bytes("\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))

        let collector = RecordCollector()
        let consumer = try KafkaConsumer(config: config, topics: ["answer"], start: .beginning)
        consumer.start(handler: collector.handle)
        defer { consumer.stop() }
        try waitUntil("21 records") { collector.count >= 21 }
        let expected: [String] = ["warm-up"] + (0..<20).map { String($0) }
        #expect(collector.records.map(\.valueText) == expected)
    }
}

import KafkaClient
import StadiumTestSupport
import Synchronization
import Testing

@Suite struct RebalanceTests {
    /// What a group member heard of its partitions, and what it had been handed when it heard.
    final class Rebalances: Sendable {
        private let heard = Mutex<[Rebalance]>([])
        let records = RecordCollector()

        var handler: RebalanceHandler { { change in self.heard.withLock { $0.append(change) } } }
        var all: [Rebalance] { heard.withLock { $0 } }
    }

    @Test func assignmentIsReportedBeforeRecordsAndRevocationAtStop() throws {
        let cluster = try DevelopmentCluster(partitions: 2, topics: ["answer"])
        let config = KafkaConfig(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(config: config, onDelivery: { _, _ in })
        for index in 0..<10 {
            try producer.produce(topic: "answer", key: bytes("k\(index)"), value: bytes("v\(index)"), token: 0)
        }
        try producer.flush(timeout: .seconds(30))

        let member = Rebalances()
        let recordsWhenAssigned = Mutex<Int?>(nil)
        let consumer = try KafkaGroupConsumer(
            config: config, groupID: "scorer", topics: ["answer"], commitMode: .manual,
            onRebalance: { change in
                if case .assigned = change { recordsWhenAssigned.withLock { $0 = $0 ?? member.records.count } }
                member.handler(change)
            })
        consumer.start(handler: member.records.handle)
        try waitUntil("10 records in the group") { member.records.count >= 10 }
        let answer = [TopicPartition(topic: "answer", partition: 0), TopicPartition(topic: "answer", partition: 1)]
        #expect(member.all == [.assigned(answer)])
        #expect(recordsWhenAssigned.withLock { $0 } == 0, "no record before the owner heard of its partitions")

        // Exactly the given positions are committed, and read back.
        try consumer.commit([answer[0]: 2])
        #expect(try consumer.committed(answer) == [answer[0]: 2])
        consumer.stop()
        #expect(member.all == [.assigned(answer), .revoked(answer)])
    }
}

// The gateway between Kafka and WebSocket clients, against the development broker: records
// produced by a Kafka client reach subscribers, pubs become records, outages lose nothing.
import Foundation
import KafkaClient
import Synchronization
import Testing

/// Delivery reports and consumed records, gathered from librdkafka's threads.
private final class KafkaSide: @unchecked Sendable {
    let cluster: DevelopmentCluster
    private let delivered = Mutex<[UInt64: Result<DeliveredRecord, KafkaError>]>([:])
    private(set) var producer: KafkaProducer!

    init(partitions: Int = 1) throws {
        cluster = try DevelopmentCluster(partitions: partitions, topics: ["question", "answer", "result", "gettop", "top"])
        producer = try KafkaProducer(config: KafkaConfig(bootstrapServers: cluster.bootstrapServers)) { [weak self] token, result in
            self?.delivered.withLock { $0[token] = result }
        }
    }

    var gatewayArguments: [String] { ["--brokers", cluster.bootstrapServers, "--ack-timeout", "3"] }

    /// Produces a record and waits for Kafka's acknowledgement; returns its offset.
    @discardableResult
    func produce(topic: String, key: String?, value: String, token: UInt64) throws -> Int64 {
        try producer.produce(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), token: token)
        var result: Result<DeliveredRecord, KafkaError>?
        #expect(eventually(timeout: .seconds(30)) {
            result = delivered.withLock { $0[token] }
            return result != nil
        }, "no delivery report for token \(token)")
        return try #require(result).get().offset
    }

    /// Reads every record of `topic` from the beginning until `count` arrived (bounded).
    func records(of topic: String, count: Int) throws -> [(key: String?, value: String, headers: [String: String])] {
        let consumer = try KafkaConsumer(
            config: KafkaConfig(bootstrapServers: cluster.bootstrapServers), topics: [topic], start: .beginning)
        let collected = Mutex<[(key: String?, value: String, headers: [String: String])]>([])
        consumer.start { batch in
            let records = batch.records.map { record in
                (
                    key: record.key.map { String(decoding: $0, as: UTF8.self) },
                    value: String(decoding: record.value, as: UTF8.self),
                    headers: Dictionary(record.headers.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }) { a, _ in a }
                )
            }
            collected.withLock { $0.append(contentsOf: records) }
        }
        defer { consumer.stop() }
        _ = eventually(timeout: .seconds(30)) { collected.withLock { $0.count >= count } }
        return collected.withLock { $0 }
    }
}

@Suite("Kafka bridge", .serialized)
struct KafkaBridgeTests {
    private func subscribe(_ port: UInt16, _ subjects: [String]) throws -> WebSocketTestClient {
        let client = try WebSocketTestClient(port: port)
        let list = subjects.map { "\"\($0)\"" }.joined(separator: ",")
        try client.send(text: #"{"op":"sub","id":1,"subjects":["# + list + "]}")
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        return client
    }

    @Test("a record produced to question reaches every /question subscriber with its offset as seq")
    func recordsFanOutToSubscribers() throws {
        let kafka = try KafkaSide()
        let gateway = try GatewayProcess(kafka.gatewayArguments)
        let subscribers = try (0..<3).map { _ in try subscribe(gateway.port, ["/question"]) }
        let alice = try subscribe(gateway.port, ["/result/alice"])
        let bob = try subscribe(gateway.port, ["/result/bob"])

        let question = #"{"id":1,"question":"2+2?","answers":["3","4","5","22"]}"#
        // Even if the gateway is still joining its partitions, it replays the latest records.
        let offset = try kafka.produce(topic: "question", key: nil, value: question, token: 1)
        for subscriber in subscribers {
            #expect(try subscriber.receiveMessage(timeout: .seconds(30)).kind
                == .msg(subject: "/question", seq: offset, data: question, retained: false))
        }

        let result = #"{"question_id":1,"points":10,"total":10}"#
        let resultOffset = try kafka.produce(topic: "result", key: "alice", value: result, token: 2)
        #expect(try alice.receiveMessage().kind == .msg(subject: "/result/alice", seq: resultOffset, data: result, retained: false))
        // Bob sees nothing of Alice's: his next message is his own.
        let bobResult = #"{"question_id":1,"points":0,"total":0}"#
        let bobOffset = try kafka.produce(topic: "result", key: "bob", value: bobResult, token: 3)
        #expect(try bob.receiveMessage().kind == .msg(subject: "/result/bob", seq: bobOffset, data: bobResult, retained: false))
        #expect(try gateway.stop() == 0)
    }

    @Test("a pub becomes a record on the mapped topic and key with the user header, and ok follows the ack")
    func pubBecomesRecord() throws {
        let kafka = try KafkaSide()
        let gateway = try GatewayProcess(kafka.gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port)
        let answer = #"{"question_id":1,"answer":2}"#
        try client.send(text: #"{"op":"pub","id":9,"subject":"/answer/alice","data":"# + answer + "}")
        #expect(try client.receiveMessage().kind == .ok(id: 9))
        // The ok came after Kafka acknowledged: the record is there, byte for byte.
        let records = try kafka.records(of: "answer", count: 1)
        #expect(records.count == 1)
        #expect(records.first?.key == "alice")
        #expect(records.first?.value == answer)
        #expect(records.first?.headers["stadium-user"] == "anonymous")
        #expect(records.first?.headers["stadium-gateway"]?.hasPrefix("127.0.0.1:") == true)
        #expect(try gateway.stop() == 0)
    }

    @Test("with the broker down pubs get err and clients stay; afterwards every record arrives once, in order")
    func outageLosesNothing() throws {
        let kafka = try KafkaSide()
        let gateway = try GatewayProcess(kafka.gatewayArguments)
        let subscriber = try subscribe(gateway.port, ["/question"])
        let publisher = try WebSocketTestClient(port: gateway.port)
        let firstSeq = try kafka.produce(topic: "question", key: nil, value: #"{"n":0}"#, token: 1)
        #expect(try subscriber.receiveMessage(timeout: .seconds(30)).kind
            == .msg(subject: "/question", seq: firstSeq, data: #"{"n":0}"#, retained: false))

        try kafka.cluster.setBrokerDown(1)
        try publisher.send(text: #"{"op":"pub","id":5,"subject":"/answer/alice","data":{"answer":1}}"#)
        let refused = try publisher.receiveMessage(timeout: .seconds(20))
        guard case .err(let id, let code, _) = refused.kind else {
            Issue.record("expected err while Kafka is down, got \(refused)")
            return
        }
        #expect(id == 5)
        #expect(code == "timeout" || code == "kafka_unavailable")
        #expect(eventually(timeout: .seconds(15)) {
            (try? HTTPTestClient.request(port: gateway.port, path: "/healthz").status) == 503
        }, "/healthz reports Kafka down")

        // Records produced while the gateway cannot reach the broker are queued by the producer.
        for n in 1...20 {
            try kafka.producer.produce(topic: "question", key: nil, value: Array(#"{"n":\#(n)}"#.utf8), token: UInt64(1000 + n))
        }
        try kafka.cluster.setBrokerUp(1)

        var seen: [Int64] = []
        while seen.count < 20 {
            let message = try subscriber.receiveMessage(timeout: .seconds(60))
            guard case .msg(let subject, let seq, let data, let retained) = message.kind else { continue }
            #expect(subject == "/question" && !retained)
            #expect(data == #"{"n":\#(seen.count + 1)}"#, "in production order")
            seen.append(seq)
        }
        #expect(seen == Array((firstSeq + 1)...(firstSeq + 20)), "no gap, no duplicate")
        // The publisher stayed connected and can publish again.
        try publisher.send(text: #"{"op":"pub","id":6,"subject":"/answer/alice","data":{"answer":2}}"#)
        #expect(try publisher.receiveMessage(timeout: .seconds(30)).kind == .ok(id: 6))
        #expect(try gateway.stop() == 0)
    }

    @Test("with --auth jwt the record's user header is the token's subject")
    func userHeaderComesFromTheToken() throws {
        let kafka = try KafkaSide()
        let tokens = try TestTokens()
        let gateway = try GatewayProcess(kafka.gatewayArguments + tokens.gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port, headers: [("Authorization", "Bearer \(tokens.player("alice"))")])
        try client.send(text: #"{"op":"pub","id":1,"subject":"/answer/alice","data":{"answer":3}}"#)
        #expect(try client.receiveMessage(timeout: .seconds(30)).kind == .ok(id: 1))
        let records = try kafka.records(of: "answer", count: 1)
        #expect(records.first?.headers["stadium-user"] == "alice")
        #expect(try gateway.stop() == 0)
    }

    @Test("SIGTERM with pubs in flight: every ok is in Kafka, then close 1001 and exit 0")
    func shutdownWithPubsInFlight() throws {
        let kafka = try KafkaSide()
        let gateway = try GatewayProcess(kafka.gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port)
        for id in 1...50 {
            try client.send(text: #"{"op":"pub","id":\#(id),"subject":"/answer/alice","data":{"n":\#(id)}}"#)
        }
        var replies: [ReceivedMessage.Kind] = [try client.receiveMessage(timeout: .seconds(30)).kind]
        gateway.sendTerminate()
        var closeCode: UInt16?
        while closeCode == nil {
            switch try client.receiveFrame(timeout: .seconds(30)) {
            case .text(let text): replies.append(try ReceivedMessage(text: text).kind)
            case .close(let code, _): closeCode = code
            case let other: Issue.record("unexpected \(other)")
            }
        }
        #expect(closeCode == 1001)
        #expect(try gateway.waitForExit() == 0)
        let acknowledged = replies.compactMap { kind -> Int64? in
            if case .ok(let id?) = kind { return id }
            return nil
        }
        #expect(!acknowledged.isEmpty)
        let written = Set(try kafka.records(of: "answer", count: acknowledged.count).map(\.value))
        for id in acknowledged {
            #expect(written.contains(#"{"n":\#(id)}"#), "pub \(id) was answered ok but is not in Kafka")
        }
    }
}

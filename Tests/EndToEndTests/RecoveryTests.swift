// Reconnecting with `since`: the missed messages once and in order, or a gap when they are gone.
import Testing

@Suite("Recovery with since")
struct RecoveryTests {
    private func publish(_ client: WebSocketTestClient, _ subject: String, _ values: ClosedRange<Int>) throws {
        for value in values {
            try client.send(text: #"{"op":"pub","id":\#(value),"subject":"\#(subject)","data":\#(value)}"#)
            #expect(try client.receiveMessage().kind == .ok(id: Int64(value)))
        }
    }

    @Test("a subscriber that comes back with since gets exactly the missed messages, in order, then live ones")
    func reconnectGetsMissedMessages() throws {
        let gateway = try GatewayProcess()
        let publisher = try WebSocketTestClient(port: gateway.port)
        try publish(publisher, "/question", 0...2)
        // The client saw seq 0 (data 0), then was away while 1...4 were published.
        try publish(publisher, "/question", 3...4)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"],"since":{"/question":0}}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        for seq: Int64 in 1...4 {
            #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: seq, data: "\(seq)", retained: false))
        }
        try publish(publisher, "/question", 5...5)
        #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: 5, data: "5", retained: false),
            "no replayed message twice, no retained copy: the next one is live")
        try gateway.stop()
    }

    @Test("a subscriber that comes back after the history moved on gets gap, then what is held")
    func reconnectPastTheHistoryGetsGap() throws {
        let gateway = try GatewayProcess(["--history-messages", "2"])
        let publisher = try WebSocketTestClient(port: gateway.port)
        try publish(publisher, "/question", 0...5)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"],"since":{"/question":1}}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        #expect(try client.receiveMessage().kind == .gap(subject: "/question", from: 2, to: 3))
        #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: 4, data: "4", retained: false))
        #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: 5, data: "5", retained: false))
        try gateway.expectOneErrorCounted(kind: "history_gap")
        try gateway.stop()
    }

    @Test("with no history kept, a since before the newest message is a gap, never silence")
    func noHistoryMeansGap() throws {
        let gateway = try GatewayProcess(["--history-messages", "0"])
        let publisher = try WebSocketTestClient(port: gateway.port)
        try publish(publisher, "/question", 0...3)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"],"since":{"/question":1}}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        #expect(try client.receiveMessage().kind == .gap(subject: "/question", from: 2, to: 3))
        try publish(publisher, "/question", 4...4)
        #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: 4, data: "4", retained: false))
        try gateway.stop()
    }

    @Test("a gateway without Kafka has no partitions: a cursor gets a gap over every seq, then live messages")
    func cursorWithoutKafkaIsAGap() throws {
        let gateway = try GatewayProcess()
        let publisher = try WebSocketTestClient(port: gateway.port)
        try publish(publisher, "/question", 0...1)
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"],"since":{"/question":{"0":0}}}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        #expect(try client.receiveMessage().kind == .gap(subject: "/question", from: 0, to: .max))
        try publish(publisher, "/question", 2...2)
        #expect(try client.receiveMessage().kind == .msg(subject: "/question", seq: 2, data: "2", retained: false),
            "no retained copy and nothing from history: the next one is live")
        try gateway.stop()
    }
}

// Per-connection limits through the real gateway: publish rate, idle connections, connections
// per source address.
import Testing

@Suite("Limits")
struct LimitTests {
    @Test("pubs over the burst get rate_limited, counted, and the connection stays usable")
    func publishFlood() throws {
        // A rate so low that no token comes back during the test: exactly the burst gets through.
        let gateway = try GatewayProcess(["--pub-rate", "0.001", "--pub-burst", "3"])
        let client = try WebSocketTestClient(port: gateway.port)
        for id in 1...10 {
            try client.send(text: #"{"op":"pub","id":\#(id),"subject":"/flood","data":\#(id)}"#)
        }
        var codes: [Int64: String] = [:]
        while codes.count < 10 {
            let message = try client.receiveMessage()
            switch message.kind {
            case .ok(let id?): codes[id] = "ok"
            case .err(let id?, let code, _): codes[id] = code
            default: Issue.record("unexpected \(message)")
            }
        }
        #expect((1...3).allSatisfy { codes[$0] == "ok" }, "\(codes)")
        #expect((4...10).allSatisfy { codes[$0] == "rate_limited" }, "\(codes)")
        try client.send(text: #"{"op":"sub","id":11,"subjects":["/flood"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 11))
        #expect(try gateway.errorCount(kind: "rate_limited") == 7)
        try gateway.stop()
    }

    @Test("a silent client is pinged, and closed with 1001 when it does not answer")
    func idleClientIsClosed() throws {
        let gateway = try GatewayProcess(["--idle-timeout", "1"])
        let silent = try WebSocketTestClient(port: gateway.port)
        #expect(try silent.receiveFrame(timeout: .seconds(15)) == .ping([]))
        let frame = try silent.receiveFrame(timeout: .seconds(15))
        guard case .close(let code, _) = frame else {
            Issue.record("expected a close frame, got \(frame)")
            return
        }
        #expect(code == 1001)
        try gateway.expectOneErrorCounted(kind: "idle_timeout")
        try gateway.stop()
    }

    @Test("a client that answers pings stays connected")
    func answeringClientStays() throws {
        let gateway = try GatewayProcess(["--idle-timeout", "1"])
        let client = try WebSocketTestClient(port: gateway.port)
        for _ in 0..<2 {
            let ping = try client.receiveFrame(timeout: .seconds(15))
            guard case .ping(let payload) = ping else {
                Issue.record("expected a ping, got \(ping)")
                return
            }
            try client.send(opcode: .pong, payload: payload)
        }
        try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 1))
        #expect(try gateway.errorCount(kind: "idle_timeout") == 0)
        try gateway.stop()
    }

    @Test("a source address past its connection limit gets 503; other addresses and freed places still connect")
    func connectionsPerAddress() throws {
        let gateway = try GatewayProcess(["--max-connections-per-address", "2"])
        let crowded: UInt32 = 0x7F00_0A01  // 127.0.10.1
        var held = [try WebSocketTestClient(port: gateway.port, source: crowded),
                    try WebSocketTestClient(port: gateway.port, source: crowded)]
        for client in held {
            try client.send(text: #"{"op":"sub","id":1,"subjects":["/question"]}"#)
            #expect(try client.receiveMessage().kind == .ok(id: 1))
        }
        #expect(throws: WebSocketTestClientError.self) {
            _ = try WebSocketTestClient(port: gateway.port, source: crowded)
        }
        do {
            _ = try WebSocketTestClient(port: gateway.port, source: crowded)
            Issue.record("a third connection from one address was accepted")
        } catch WebSocketTestClientError.handshakeRefused(.unexpectedStatus(let status, _)) {
            #expect(status == 503)
        }
        let elsewhere = try WebSocketTestClient(port: gateway.port, source: 0x7F00_0A02)
        try elsewhere.send(text: #"{"op":"sub","id":2,"subjects":["/question"]}"#)
        #expect(try elsewhere.receiveMessage().kind == .ok(id: 2))
        #expect(try gateway.errorCount(kind: "too_many_from_address") == 2)

        // The gateway releases a place when it sees the close; retry until it has.
        held.removeLast()
        let deadline = ContinuousClock.now + .seconds(10)
        var again: WebSocketTestClient?
        while again == nil && ContinuousClock.now < deadline {
            again = try? WebSocketTestClient(port: gateway.port, source: crowded)
        }
        #expect(again != nil, "a freed place was not given to a new connection")
        try gateway.stop()
    }
}

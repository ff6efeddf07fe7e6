// Bad input from one client: what that client sees, that /metrics counts it under the right
// kind, and that the gateway keeps serving everyone else.
import Testing
import WebSocket

@Suite("Bad input")
struct BadInputTests {
    // MARK: Broken frames: a close frame with the RFC 6455 code, then the connection ends

    @Test("an unmasked client frame is closed with 1002")
    func unmaskedFrame() throws {
        try expectClose(1002, kind: "protocol_error") { client in
            try client.sendRaw(FrameEncoder.frame(opcode: .text, payload: Array(#"{"op":"sub","id":1,"subjects":["/q"]}"#.utf8)))
        }
    }

    @Test("a message over --max-message-bytes is closed with 1009")
    func messageTooBig() throws {
        try expectClose(1009, kind: "message_too_big", gatewayArguments: ["--max-message-bytes", "1024"]) { client in
            let data = "\"" + String(repeating: "x", count: 1100) + "\""
            try client.send(text: #"{"op":"pub","id":1,"subject":"/big","data":"# + data + "}")
        }
    }

    @Test("a text message that is not UTF-8 is closed with 1007")
    func invalidUTF8() throws {
        try expectClose(1007, kind: "invalid_utf8") { client in
            try client.send(text: Array(#"{"op":"pub","id":1,"subject":"/q","data":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
        }
    }

    @Test("a binary frame is closed with 1003")
    func binaryFrame() throws {
        try expectClose(1003, kind: "unsupported_data") { client in
            try client.send(opcode: .binary, payload: [0x01, 0x02, 0x03])
        }
    }

    // MARK: Broken HTTP: a status code, then the connection ends

    @Test("request headers over 8 KiB are answered 431")
    func headersTooLarge() throws {
        let gateway = try GatewayProcess()
        let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "a", count: 9000))\r\n\r\n"
        let response = try HTTPTestClient.exchange(port: gateway.port, rawRequest: Array(request.utf8))
        #expect(response.status == 431, "\(response)")
        try expectCountedAndStillServing(gateway, kind: "headers_too_large")
    }

    @Test("a request head not complete within --handshake-timeout is answered 408 and closed")
    func handshakeTimeout() throws {
        let gateway = try GatewayProcess(["--handshake-timeout", "1"])
        let socket = try TestSocket(port: gateway.port)
        try socket.send(Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8))
        // readResponse returns only once the gateway has closed the connection.
        let response = try HTTPTestClient.readResponse(from: socket)
        #expect(response.status == 408, "\(response)")
        try expectCountedAndStillServing(gateway, kind: "handshake_timeout")
    }

    @Test("an upgrade without Sec-WebSocket-Key is answered 400")
    func upgradeWithoutKey() throws {
        let gateway = try GatewayProcess()
        let response = try HTTPTestClient.exchange(port: gateway.port, rawRequest: upgradeRequest(key: nil, version: "13"))
        #expect(response.status == 400, "\(response)")
        try expectCountedAndStillServing(gateway, kind: "bad_upgrade")
    }

    @Test("an upgrade with Sec-WebSocket-Version 8 is answered 426 naming version 13")
    func upgradeWithOldVersion() throws {
        let gateway = try GatewayProcess()
        let response = try HTTPTestClient.exchange(
            port: gateway.port, rawRequest: upgradeRequest(key: WebSocketHandshake.makeClientKey(), version: "8"))
        #expect(response.status == 426, "\(response)")
        #expect(response.header("Sec-WebSocket-Version") == "13")
        try expectCountedAndStillServing(gateway, kind: "bad_upgrade")
    }

    // MARK: Bad requests: an err reply, and the connection stays usable

    @Test("an unknown op gets err bad_request with the request's id")
    func unknownOp() throws {
        try expectErrorReply(#"{"op":"frobnicate","id":41}"#, id: 41, code: "bad_request", kind: "bad_request")
    }

    @Test("a request that is not JSON gets err bad_request")
    func badJSON() throws {
        try expectErrorReply(#"{"op":"sub","id":4"#, id: nil, code: "bad_request", kind: "bad_request")
    }

    @Test("a subscription to an invalid subject gets err bad_subject")
    func invalidSubject() throws {
        try expectErrorReply(#"{"op":"sub","id":9,"subjects":["question//x"]}"#, id: 9, code: "bad_subject", kind: "bad_subject")
    }

    // MARK: Shared steps

    private func expectClose(
        _ code: UInt16, kind: String, gatewayArguments: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation,
        _ sendBadInput: (WebSocketTestClient) throws -> Void
    ) throws {
        let gateway = try GatewayProcess(gatewayArguments)
        let client = try WebSocketTestClient(port: gateway.port)
        try sendBadInput(client)
        #expect(try client.receiveClose() == code, sourceLocation: sourceLocation)
        try client.waitUntilClosed()
        try expectCountedAndStillServing(gateway, kind: kind, sourceLocation: sourceLocation)
    }

    private func expectErrorReply(
        _ request: String, id: Int64?, code: String, kind: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let gateway = try GatewayProcess()
        let client = try WebSocketTestClient(port: gateway.port)
        try client.send(text: request)
        let reply = try client.receiveMessage()
        guard case .err(let replyID, let replyCode, let message) = reply.kind else {
            Issue.record("expected an err reply, got \(reply)", sourceLocation: sourceLocation)
            return
        }
        #expect(replyID == id, sourceLocation: sourceLocation)
        #expect(replyCode == code, sourceLocation: sourceLocation)
        #expect(!message.isEmpty, "the err reply should say what was wrong", sourceLocation: sourceLocation)
        // The same connection still works.
        try client.send(text: #"{"op":"sub","id":100,"subjects":["/question"]}"#)
        #expect(try client.receiveMessage().kind == .ok(id: 100), sourceLocation: sourceLocation)
        try expectCountedAndStillServing(gateway, kind: kind, sourceLocation: sourceLocation)
    }

    private func expectCountedAndStillServing(
        _ gateway: GatewayProcess, kind: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try gateway.expectOneErrorCounted(kind: kind, sourceLocation: sourceLocation)
        try gateway.expectStillServing(sourceLocation: sourceLocation)
        try gateway.stop()
    }

    private func upgradeRequest(key: String?, version: String) -> [UInt8] {
        var request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        if let key { request += "Sec-WebSocket-Key: \(key)\r\n" }
        request += "Sec-WebSocket-Version: \(version)\r\n\r\n"
        return Array(request.utf8)
    }
}

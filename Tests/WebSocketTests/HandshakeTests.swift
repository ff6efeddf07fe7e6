/// The opening handshake: the RFC accept value, server decisions for good and bad
/// upgrade requests, and a client request/response round trip.
import Foundation
import Testing
import WebSocket

@Suite struct HandshakeTests {
    let key = "dGhlIHNhbXBsZSBub25jZQ=="

    func upgradeRequest(_ extraHeaders: [String], removing removed: String? = nil) -> String {
        var lines = [
            "Host: server.example.com", "Upgrade: websocket", "Connection: keep-alive, Upgrade",
            "Sec-WebSocket-Key: \(key)", "Sec-WebSocket-Version: 13",
        ]
        if let removed {
            lines.removeAll { $0.hasPrefix(removed + ":") }
        }
        return "GET /ws HTTP/1.1\r\n" + (lines + extraHeaders).map { $0 + "\r\n" }.joined() + "\r\n"
    }

    func decision(_ text: String) throws -> HandshakeDecision {
        WebSocketHandshake.evaluate(try requestHead(text))
    }

    @Test func acceptValueOfTheRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func goodUpgradeWithOurSubprotocol() throws {
        let result = try decision(upgradeRequest(["Sec-WebSocket-Protocol: chat, stadium.v1"]))
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: stadium.v1\r\n\r\n"
        #expect(result == .upgrade(response: bytes(expected), subprotocol: "stadium.v1"))
    }

    @Test func upgradeWithoutSubprotocolIsAccepted() throws {
        guard case .upgrade(let response, let subprotocol, _) = try decision(upgradeRequest([])) else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(subprotocol == nil)
        #expect(!String(decoding: response, as: UTF8.self).contains("Sec-WebSocket-Protocol"))
    }

    @Test func missingKeyIsRejected() throws {
        guard case .reject(let status, _) = try decision(upgradeRequest([], removing: "Sec-WebSocket-Key")) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(status == 400)
    }

    @Test(arguments: ["short==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25j*Q=="])
    func malformedKeyIsRejected(badKey: String) throws {
        let text = upgradeRequest(["Sec-WebSocket-Key: \(badKey)"], removing: "Sec-WebSocket-Key")
        #expect(try decision(text) == .reject(status: 400, reason: "Sec-WebSocket-Key is not 16 base64-encoded bytes"))
    }

    @Test func missingConnectionUpgradeIsRejected() throws {
        let text = upgradeRequest(["Connection: keep-alive"], removing: "Connection")
        guard case .reject(400, _) = try decision(text) else {
            Issue.record("expected 400")
            return
        }
    }

    @Test func version8GetsUpgradeRequiredWithSupportedVersion() throws {
        let text = upgradeRequest(["Sec-WebSocket-Version: 8"], removing: "Sec-WebSocket-Version")
        guard case .reject(let status, let reason) = try decision(text) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(status == 426)
        let response = String(decoding: WebSocketHandshake.rejectionResponse(status: status, reason: reason), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
        #expect(response.contains("\r\nSec-WebSocket-Version: 13\r\n"))
        #expect(response.contains("\r\nConnection: close\r\n"))
    }

    @Test func plainGetIsNotWebSocket() throws {
        #expect(try decision("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == .notWebSocket)
    }

    @Test func upgradeWithPostIsRejected() throws {
        let text = upgradeRequest([]).replacingOccurrences(of: "GET /ws", with: "POST /ws")
        guard case .reject(400, _) = try decision(text) else {
            Issue.record("expected 400")
            return
        }
    }

    @Test func clientRequestRoundTrip() throws {
        var generator = SplitMix(seed: 42)
        let clientKey = WebSocketHandshake.makeClientKey(using: &generator)
        let request = WebSocketHandshake.clientRequest(host: "localhost:8080", path: "/ws", key: clientKey)
        let head = try requestHead(String(decoding: request, as: UTF8.self))
        guard case .upgrade(let response, "stadium.v1", _) = WebSocketHandshake.evaluate(head) else {
            Issue.record("server refused the client's request")
            return
        }
        let frameAfterHead = FrameEncoder.frame(opcode: .text, payload: bytes("hi"))
        let parsed = HTTPResponseParser.parse((response + frameAfterHead).span.bytes)
        guard case .complete(let responseHead, let consumed) = parsed else {
            Issue.record("client could not parse the 101")
            return
        }
        #expect(consumed == response.count)
        #expect(try WebSocketHandshake.validateServerResponse(responseHead, key: clientKey) == "stadium.v1")
        #expect(throws: WebSocketClientHandshakeError.acceptMismatch(
            expected: WebSocketHandshake.acceptValue(forKey: key),
            received: responseHead.header("Sec-WebSocket-Accept"))
        ) {
            try WebSocketHandshake.validateServerResponse(responseHead, key: key)
        }
    }

    @Test func clientRejectsNon101() throws {
        let head = HTTPResponseHead(version: .http1_1, status: 403, reason: "Forbidden", headers: HTTPHeaders())
        #expect(throws: WebSocketClientHandshakeError.unexpectedStatus(403, reason: "Forbidden")) {
            try WebSocketHandshake.validateServerResponse(head, key: key)
        }
    }
}

/// A seeded generator so the client key in tests is reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

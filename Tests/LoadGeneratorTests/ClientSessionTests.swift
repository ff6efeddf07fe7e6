// A bot connection's session without a socket: the gateway's bytes go in, the actions it asks of
// its ring are recorded.
import StadiumProtocol
import Testing
import UringIO
import WebSocket

@testable import LoadGenerator

/// What a session asked of its ring, in order.
private enum SinkAction: Equatable {
    case send(WebSocketOpcode, [UInt8])
    case close(CloseMode)
    case opened(handshakeMicroseconds: Int64)
    /// The message's kind and the whole text it came in.
    case received(String, text: String)
    case failed(ClientSessionFailure)
}

private struct RecordingSink: ClientSessionSink {
    var monotonicMicroseconds: Int64 = 0
    var inflater: MessageInflater?
    var actions: [SinkAction] = []

    mutating func send(_ opcode: WebSocketOpcode, payload: RawSpan) -> Bool {
        actions.append(.send(opcode, payload.withUnsafeBytes { Array($0) }))
        return true
    }

    mutating func close(_ mode: CloseMode) { actions.append(.close(mode)) }

    mutating func opened(handshakeMicroseconds: Int64) { actions.append(.opened(handshakeMicroseconds: handshakeMicroseconds)) }

    mutating func received(_ message: ServerMessage, bytes: RawSpan) {
        let kind: String
        switch message {
        case .ok(let id): kind = "ok \(id ?? -1)"
        case .err(_, let code, _): kind = "err \(code)"
        case .msg(_, let seq, _, _): kind = "msg \(seq)"
        case .gap: kind = "gap"
        }
        actions.append(.received(kind, text: bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
    }

    mutating func failed(_ failure: ClientSessionFailure) { actions.append(.failed(failure)) }
}

@Suite struct ClientSessionTests {
    private static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    private static let upgrade = WebSocketHandshake.upgradeResponse(key: key, subprotocol: "stadium.v1")

    private static func text(_ json: String) -> [UInt8] {
        FrameEncoder.frame(opcode: .text, payload: Array(json.utf8))
    }

    /// Feeds `bytes` as one read; returns how many the session used.
    @discardableResult
    private func receive(_ bytes: [UInt8], _ session: inout ClientSession, _ sink: inout RecordingSink) -> Int {
        var copy = bytes
        var elements = copy.mutableSpan
        var span = elements.mutableBytes
        return session.received(&span, into: &sink)
    }

    /// A session whose upgrade was accepted, with its sink cleared.
    private func openSession() -> (ClientSession, RecordingSink) {
        var session = ClientSession(key: Self.key, now: 1_000)
        var sink = RecordingSink(monotonicMicroseconds: 1_250)
        receive(Self.upgrade, &session, &sink)
        sink.actions = []
        return (session, sink)
    }

    @Test func asksForTheUpgradeWithItsKey() {
        let session = ClientSession(key: Self.key, now: 0)
        let request = String(decoding: session.upgradeRequest(host: "gw:8080", path: "/play"), as: UTF8.self)
        #expect(request.hasPrefix("GET /play HTTP/1.1\r\n"))
        #expect(request.contains("Sec-WebSocket-Key: \(Self.key)\r\n"))
        #expect(request.contains("Host: gw:8080\r\n"))
    }

    @Test func waitsForTheWholeAnswerThenOpensAndReadsTheFramesAfterIt() {
        var session = ClientSession(key: Self.key, now: 1_000)
        var sink = RecordingSink(monotonicMicroseconds: 1_250)
        let read = Self.upgrade + Self.text(#"{"op":"ok","id":1}"#)
        #expect(receive(Array(Self.upgrade.prefix(20)), &session, &sink) == 0)
        #expect(sink.actions.isEmpty)
        #expect(receive(read, &session, &sink) == read.count)
        #expect(session.phase == .open)
        #expect(sink.actions == [.opened(handshakeMicroseconds: 250), .received("ok 1", text: #"{"op":"ok","id":1}"#)])
    }

    @Test("with --compression the upgrade offers deflate, and a compressed message arrives inflated")
    func offersDeflateAndInflatesWhatComesCompressed() throws {
        var session = ClientSession(key: Self.key, now: 1_000, offersDeflate: true)
        let request = String(decoding: session.upgradeRequest(host: "gw", path: "/"), as: UTF8.self)
        #expect(request.contains("Sec-WebSocket-Extensions: \(PerMessageDeflate.clientOffer)\r\n"))
        var sink = RecordingSink(monotonicMicroseconds: 1_250, inflater: MessageInflater(limit: 1 << 20))
        let agreed = WebSocketHandshake.upgradeResponse(
            key: Self.key, subprotocol: "stadium.v1",
            extensions: "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        receive(agreed, &session, &sink)
        #expect(session.phase == .open)
        let json = #"{"op":"msg","subject":"/q","seq":7,"data":""# + String(repeating: "question ", count: 20) + #""}"#
        let deflater = try #require(MessageDeflater())
        let payload = Array(json.utf8)
        let compressed = try #require(deflater.compress(payload.span.bytes) { $0.withUnsafeBytes { Array($0) } })
        sink.actions = []
        receive(FrameEncoder.frame(opcode: .text, payload: compressed, compressed: true), &session, &sink)
        #expect(sink.actions == [.received("msg 7", text: json)])
    }

    @Test func refusesAnAnswerForAnotherKey() {
        var session = ClientSession(key: "b3RoZXIga2V5IG9mIDE2IGJ5dA==", now: 0)
        var sink = RecordingSink()
        let used = receive(Self.upgrade + Self.text(#"{"op":"ok"}"#), &session, &sink)
        #expect(used == Self.upgrade.count + Self.text(#"{"op":"ok"}"#).count)
        #expect(session.phase == .closing)
        guard case .failed(.handshakeRefused) = sink.actions.first else {
            Issue.record("expected a refused handshake, got \(sink.actions)")
            return
        }
        #expect(sink.actions.dropFirst() == [.close(.now)])
    }

    @Test func refusesAnAnswerThatIsNotHTTP() {
        var session = ClientSession(key: Self.key, now: 0)
        var sink = RecordingSink()
        receive(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8), &session, &sink)
        #expect(sink.actions == [.failed(.handshakeRefused("the gateway's answer to the upgrade request is not HTTP")), .close(.now)])
        receive(Self.upgrade, &session, &sink)
        #expect(sink.actions.count == 2, "input after the refusal is ignored")
    }

    @Test func answersAPingWithItsPayload() {
        var (session, sink) = openSession()
        receive(FrameEncoder.frame(opcode: .ping, payload: [1, 2, 3]), &session, &sink)
        #expect(sink.actions == [.send(.pong, [1, 2, 3])])
        #expect(session.phase == .open)
    }

    @Test func echoesTheGatewaysCloseAndIgnoresWhatFollows() {
        var (session, sink) = openSession()
        let read = FrameEncoder.closeFrame(code: .goingAway, reason: "gateway shutting down") + Self.text(#"{"op":"ok"}"#)
        receive(read, &session, &sink)
        #expect(sink.actions == [.send(.close, FrameEncoder.closePayload(code: .goingAway)), .close(.afterFlush)])
        #expect(session.phase == .closing)
    }

    @Test func answersACloseWithoutCodeWithNormalClosure() {
        var (session, sink) = openSession()
        receive(FrameEncoder.frame(opcode: .close, payload: []), &session, &sink)
        #expect(sink.actions == [.send(.close, FrameEncoder.closePayload(code: .normalClosure)), .close(.afterFlush)])
    }

    @Test func closesWithProtocolErrorOnAMaskedFrameFromTheGateway() {
        var (session, sink) = openSession()
        let read = FrameEncoder.frame(opcode: .text, payload: Array("{}".utf8), maskKey: 0x0102_0304)
        #expect(receive(read, &session, &sink) == read.count)
        guard case .failed(.protocolViolation(_, let inputStart)) = sink.actions.first else {
            Issue.record("expected a protocol violation, got \(sink.actions)")
            return
        }
        #expect(inputStart.count == read.count)
        #expect(sink.actions.dropFirst() == [.send(.close, FrameEncoder.closePayload(code: .protocolError)), .close(.afterFlush)])
    }

    @Test func reportsAnUnreadableMessageAndStaysOpen() {
        var (session, sink) = openSession()
        receive(Self.text(#"{"op":"hello"}"#) + Self.text(#"{"op":"ok","id":2}"#), &session, &sink)
        guard case .failed(.unreadableMessage) = sink.actions.first else {
            Issue.record("expected an unreadable message, got \(sink.actions)")
            return
        }
        #expect(sink.actions.dropFirst() == [.received("ok 2", text: #"{"op":"ok","id":2}"#)])
        #expect(session.phase == .open)
    }

    @Test func keepsAMessageSplitAcrossReadsUntilItIsWhole() {
        var (session, sink) = openSession()
        let frame = Self.text(#"{"op":"msg","subject":"/q","seq":7,"data":1}"#)
        let split = 9
        #expect(receive(Array(frame.prefix(split)), &session, &sink) == 0)
        #expect(receive(frame, &session, &sink) == frame.count)
        #expect(sink.actions == [.received("msg 7", text: #"{"op":"msg","subject":"/q","seq":7,"data":1}"#)])
    }

    @Test func dropsAHandshakeOnlyPastItsTimeout() {
        var session = ClientSession(key: Self.key, now: 1_000)
        var sink = RecordingSink()
        session.handshakeDeadlinePassed(now: 6_000, timeoutUs: 5_000, into: &sink)
        #expect(sink.actions.isEmpty)
        session.handshakeDeadlinePassed(now: 6_001, timeoutUs: 5_000, into: &sink)
        #expect(sink.actions == [.failed(.handshakeTimedOut), .close(.now)])
        #expect(session.phase == .closing)

        var (open, openSink) = openSession()
        open.handshakeDeadlinePassed(now: 1_000_000, timeoutUs: 5_000, into: &openSink)
        #expect(openSink.actions.isEmpty)
    }

    @Test func saysGoodbyeWhenTheRunStops() {
        var (open, openSink) = openSession()
        open.stop(into: &openSink)
        #expect(openSink.actions == [
            .send(.close, FrameEncoder.closePayload(code: .goingAway, reason: "load generator stopping")), .close(.afterFlush),
        ])

        var handshaking = ClientSession(key: Self.key, now: 0)
        var sink = RecordingSink()
        handshaking.stop(into: &sink)
        #expect(sink.actions == [.close(.now)])

        var free = ClientSession()
        var freeSink = RecordingSink()
        free.stop(into: &freeSink)
        #expect(freeSink.actions.isEmpty)
    }

    @Test func aTransportFailureRefusesTheHandshake() {
        var session = ClientSession(key: Self.key, now: 0)
        var sink = RecordingSink()
        session.transportFailed("TLS: peerAlert", into: &sink)
        #expect(sink.actions == [.failed(.handshakeRefused("TLS: peerAlert")), .close(.now)])
    }
}

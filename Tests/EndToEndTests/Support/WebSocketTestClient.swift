// A blocking WebSocket client for tests: the real handshake, masked frames, and frames from
// the gateway read with the WebSocket module's client-side reader.
import StadiumProtocol
import WebSocket

/// A frame as the test sees it, payloads copied out of the reader's buffer.
enum ReceivedFrame: Equatable, CustomStringConvertible {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// `code` is nil for a close frame without a payload.
    case close(code: UInt16?, reason: String)

    var description: String {
        switch self {
        case .text(let text): return "text \(text)"
        case .binary(let bytes): return "binary of \(bytes.count) bytes"
        case .ping(let bytes): return "ping \(bytes)"
        case .pong(let bytes): return "pong \(bytes)"
        case .close(let code, let reason): return "close \(code.map(String.init) ?? "without code") \(reason)"
        }
    }
}

enum WebSocketTestClientError: Error, CustomStringConvertible {
    case handshakeRefused(WebSocketClientHandshakeError)
    case malformedResponse(String)
    case serverBrokeProtocol(code: CloseCode, reason: String)
    case unexpectedFrame(ReceivedFrame, expected: String)
    case malformedServerMessage(String, text: String)

    var description: String {
        switch self {
        case .handshakeRefused(let error): return "handshake refused: \(error)"
        case .malformedResponse(let reason): return "malformed handshake response: \(reason)"
        case .serverBrokeProtocol(let code, let reason): return "gateway sent a bad frame (\(code)): \(reason)"
        case .unexpectedFrame(let frame, let expected): return "expected \(expected), got \(frame)"
        case .malformedServerMessage(let reason, let text): return "not a v1 server message (\(reason)): \(text)"
        }
    }
}

final class WebSocketTestClient {
    let socket: TestSocket
    private var reader = WebSocketReader(role: .client, maxMessageBytes: 1 << 20)
    private var unread: [UInt8] = []
    private var frames: [ReceivedFrame] = []
    private var maskKeys = SystemRandomNumberGenerator()

    /// Opens a connection and completes the opening handshake for subprotocol stadium.v1.
    /// `path` may carry a query (`/?token=...`); `headers` are added to the upgrade request.
    init(
        port: UInt16, path: String = "/", headers: [(String, String)] = [], source: UInt32? = nil,
        timeout: Duration = .seconds(10)
    ) throws {
        socket = try TestSocket(port: port, source: source)
        let key = WebSocketHandshake.makeClientKey()
        try socket.send(Self.upgradeRequest(port: port, path: path, key: key, headers: headers))
        let deadline = ContinuousClock.now + timeout
        while true {
            let parsed = HTTPResponseParser.parse(unread.span.bytes)
            switch parsed {
            case .complete(let head, let consumed):
                do {
                    try WebSocketHandshake.validateServerResponse(head, key: key)
                } catch {
                    throw WebSocketTestClientError.handshakeRefused(error)
                }
                unread.removeFirst(consumed)
                return
            case .malformed(let reason):
                throw WebSocketTestClientError.malformedResponse(reason)
            case .tooLarge:
                throw WebSocketTestClientError.malformedResponse("response head over 8 KiB")
            case .incomplete:
                try readMore(until: deadline, waitingFor: "the handshake response")
            }
        }
    }

    /// The client's upgrade request with extra header lines before the blank line.
    static func upgradeRequest(port: UInt16, path: String = "/", key: String, headers: [(String, String)]) -> [UInt8] {
        var request = WebSocketHandshake.clientRequest(host: "127.0.0.1:\(port)", path: path, key: key)
        request.removeLast(2)
        for (name, value) in headers { request += Array("\(name): \(value)\r\n".utf8) }
        return request + Array("\r\n".utf8)
    }

    // MARK: Sending

    /// A masked text frame, as a browser sends it.
    func send(text bytes: [UInt8]) throws {
        try send(opcode: .text, payload: bytes)
    }

    func send(text: String) throws {
        try send(text: Array(text.utf8))
    }

    func send(opcode: WebSocketOpcode, payload: [UInt8]) throws {
        try socket.send(FrameEncoder.frame(opcode: opcode, payload: payload, maskKey: UInt32.random(in: 1...UInt32.max, using: &maskKeys)))
    }

    func sendClose(code: CloseCode) throws {
        try socket.send(FrameEncoder.closeFrame(code: code, maskKey: UInt32.random(in: 1...UInt32.max, using: &maskKeys)))
    }

    /// Bytes exactly as given: for frames a well-behaved client would never send.
    func sendRaw(_ bytes: [UInt8]) throws {
        try socket.send(bytes)
    }

    // MARK: Receiving

    /// The next frame from the gateway, waiting at most `timeout`.
    func receiveFrame(timeout: Duration = .seconds(10)) throws -> ReceivedFrame {
        let deadline = ContinuousClock.now + timeout
        while frames.isEmpty {
            try decodeUnread()
            if frames.isEmpty {
                try readMore(until: deadline, waitingFor: "a frame from the gateway")
            }
        }
        return frames.removeFirst()
    }

    /// The next frame, which must be a protocol v1 message in a text frame.
    func receiveMessage(timeout: Duration = .seconds(10)) throws -> ReceivedMessage {
        let frame = try receiveFrame(timeout: timeout)
        guard case .text(let text) = frame else {
            throw WebSocketTestClientError.unexpectedFrame(frame, expected: "a text message")
        }
        return try ReceivedMessage(text: text)
    }

    /// The next frame, which must be a close frame; returns its code.
    func receiveClose(timeout: Duration = .seconds(10)) throws -> UInt16? {
        let frame = try receiveFrame(timeout: timeout)
        guard case .close(let code, _) = frame else {
            throw WebSocketTestClientError.unexpectedFrame(frame, expected: "a close frame")
        }
        return code
    }

    /// Waits until the gateway closes the TCP connection.
    func waitUntilClosed(timeout: Duration = .seconds(10)) throws {
        _ = try socket.receiveUntilClosed(timeout: timeout)
    }

    private func readMore(until deadline: ContinuousClock.Instant, waitingFor what: String) throws {
        while ContinuousClock.now < deadline {
            switch try socket.receive() {
            case .bytes(let bytes):
                unread += bytes
                return
            case .endOfStream:
                throw TestSocketError.closedByPeer(waitingFor: what)
            case .timedOut:
                continue
            }
        }
        throw TestSocketError.timedOut(waitingFor: what)
    }

    private func decodeUnread() throws {
        guard !unread.isEmpty else { return }
        var decoded: [ReceivedFrame] = []
        let outcome = unread.withUnsafeMutableBytes { bytes in
            reader.consume(bytes) { event in
                switch event {
                case .text(let payload): decoded.append(.text(payload.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
                case .binary(let payload): decoded.append(.binary(payload.withUnsafeBytes { Array($0) }))
                case .ping(let payload): decoded.append(.ping(payload.withUnsafeBytes { Array($0) }))
                case .pong(let payload): decoded.append(.pong(payload.withUnsafeBytes { Array($0) }))
                case .close(let code, let reason): decoded.append(.close(code: code?.rawValue, reason: reason))
                }
            }
        }
        switch outcome {
        case .consumed(let count):
            unread.removeFirst(count)
            frames += decoded
        case .fail(let code, let reason):
            throw WebSocketTestClientError.serverBrokeProtocol(code: code, reason: reason)
        }
    }
}

/// A protocol v1 message from the gateway, with its members copied out as the user reads them.
struct ReceivedMessage: CustomStringConvertible {
    enum Kind: Equatable {
        case ok(id: Int64?)
        case err(id: Int64?, code: String, message: String)
        /// `data` is the exact JSON text of the `data` member.
        case msg(subject: String, seq: Int64, data: String, retained: Bool)
        case gap(subject: String, from: Int64, to: Int64)
    }

    /// The whole message as sent.
    let text: String
    let kind: Kind

    init(text: String) throws {
        self.text = text
        let bytes = Array(text.utf8)
        let parsed = bytes.withUnsafeBytes { buffer -> Result<Kind, MalformedServerMessage> in
            ServerMessageParser.parse(buffer.bytes).map { message in
                switch message {
                case .ok(let id):
                    return .ok(id: id)
                case .err(let id, let code, let message):
                    return .err(id: id, code: code, message: message)
                case .msg(let subject, let seq, let data, let retained):
                    return .msg(
                        subject: subject.string(in: buffer.bytes) ?? "", seq: seq,
                        data: String(decoding: bytes[data], as: UTF8.self), retained: retained)
                case .gap(let subject, let from, let to):
                    return .gap(subject: subject, from: from, to: to)
                }
            }
        }
        switch parsed {
        case .success(let kind): self.kind = kind
        case .failure(let error): throw WebSocketTestClientError.malformedServerMessage(error.message, text: text)
        }
    }

    var description: String { text }
}

// One bot connection's protocol from its upgrade request to its close: the gateway's answer to
// the upgrade, server frames, protocol v1 messages, the close handshake. No I/O: bytes and events
// come in, actions go out through a `ClientSessionSink`, which the ring performs. The client
// counterpart of the gateway's `ConnectionSession`; TLS sits between the ring's bytes and `received`.
import StadiumProtocol
import UringIO
import WebSocket

/// Performs a client session's actions on its connection. Called while the session runs: an
/// implementation must not call back into the same session.
protocol ClientSessionSink {
    /// Monotonic microseconds, for the handshake's latency.
    var monotonicMicroseconds: Int64 { get }
    /// With --compression, the ring's inflater for compressed messages; nil: deflate is not offered.
    var inflater: MessageInflater? { get }
    /// Queues one frame to the gateway (the sink masks it); false when it could not be queued.
    @discardableResult
    mutating func send(_ opcode: WebSocketOpcode, payload: RawSpan) -> Bool
    mutating func close(_ mode: CloseMode)
    /// The gateway accepted the upgrade after `handshakeMicroseconds`; protocol messages may go out.
    mutating func opened(handshakeMicroseconds: Int64)
    /// A protocol v1 message; `bytes` is the whole text message its ranges point into, borrowed for the call.
    mutating func received(_ message: ServerMessage, bytes: RawSpan)
    mutating func failed(_ failure: ClientSessionFailure)
}

/// Why a client session gave up on its connection, or on one message of it.
enum ClientSessionFailure: Equatable {
    /// The upgrade was refused or its answer was not HTTP; the connection is closed.
    case handshakeRefused(String)
    /// No answer to the upgrade within the handshake timeout; the connection is closed.
    case handshakeTimedOut
    /// The gateway broke RFC 6455; `inputStart` is the read's first bytes, printable, for the log.
    case protocolViolation(reason: String, inputStart: String)
    /// A text message that is not a v1 server message; the connection stays open.
    case unreadableMessage(String)
}

struct ClientSession {
    enum Phase: UInt8 {
        case free
        /// The upgrade request is out (or waits for TLS); the answer has not come.
        case handshake
        case open
        /// A close frame is on its way, or the socket is being dropped; input is ignored.
        case closing
    }

    static let maxMessageBytes = 1 << 20

    private(set) var phase: Phase = .free
    private var reader = ClientSession.idleReader
    private var key = ""
    private var handshakeStartedUs: Int64 = 0
    /// The upgrade request offered permessage-deflate (--compression).
    private var offersDeflate = false

    /// Stands in for a slot's reader while none is needed, or while its own one is reading.
    private static let idleReader = WebSocketReader(role: .client, maxMessageBytes: 0)

    init() {}

    /// A socket connected at `now` (monotonic microseconds); `key` is its Sec-WebSocket-Key.
    init(key: String, now: Int64, offersDeflate: Bool = false) {
        phase = .handshake
        reader = WebSocketReader(role: .client, maxMessageBytes: Self.maxMessageBytes)
        self.key = key
        handshakeStartedUs = now
        self.offersDeflate = offersDeflate
    }

    /// The upgrade request this session's key expects an answer to.
    func upgradeRequest(host: String, path: String) -> [UInt8] {
        WebSocketHandshake.clientRequest(
            host: host, path: path, key: key, extensions: offersDeflate ? PerMessageDeflate.clientOffer : nil)
    }

    // MARK: - Events

    /// Bytes from the gateway, borrowed for the call; returns how many were used (the rest come again with more).
    mutating func received<Sink: ClientSessionSink>(_ bytes: inout MutableRawSpan, into sink: inout Sink) -> Int {
        switch phase {
        case .handshake:
            return receiveHandshake(&bytes, into: &sink)
        case .open:
            return receiveFrames(&bytes, into: &sink)
        case .closing, .free:
            return bytes.byteCount
        }
    }

    /// The handshake could not go on below the session (TLS); the connection is dropped.
    mutating func transportFailed<Sink: ClientSessionSink>(_ reason: String, into sink: inout Sink) {
        refuseHandshake(reason, into: &sink)
    }

    /// The periodic look for a gateway that accepted the socket but never answered the upgrade.
    mutating func handshakeDeadlinePassed<Sink: ClientSessionSink>(now: Int64, timeoutUs: Int64, into sink: inout Sink) {
        guard phase == .handshake, now - handshakeStartedUs > timeoutUs else { return }
        phase = .closing
        sink.failed(.handshakeTimedOut)
        sink.close(.now)
    }

    /// The run ends: an open connection says goodbye (1001), a handshaking one is dropped.
    mutating func stop<Sink: ClientSessionSink>(into sink: inout Sink) {
        switch phase {
        case .open:
            close(code: .goingAway, reason: "load generator stopping", into: &sink)
        case .handshake:
            phase = .closing
            sink.close(.now)
        case .closing, .free:
            break
        }
    }

    /// The slot was given back: nothing of the connection is kept.
    mutating func ended() {
        self = ClientSession()
    }

    // MARK: - Handshake

    private mutating func receiveHandshake<Sink: ClientSessionSink>(_ bytes: inout MutableRawSpan, into sink: inout Sink) -> Int {
        let total = bytes.byteCount
        switch HTTPResponseParser.parse(bytes.bytes) {
        case .incomplete:
            return 0
        case .tooLarge, .malformed:
            refuseHandshake("the gateway's answer to the upgrade request is not HTTP", into: &sink)
            return total
        case .complete(let head, let consumed):
            do {
                try WebSocketHandshake.validateServerResponse(head, key: key, offeredDeflate: offersDeflate)
            } catch {
                refuseHandshake(error.description, into: &sink)
                return total
            }
            reader.inflatesMessages =
                offersDeflate && PerMessageDeflate.clientAccepts(head.headers.values("Sec-WebSocket-Extensions")) == true
            phase = .open
            key = ""
            sink.opened(handshakeMicroseconds: sink.monotonicMicroseconds - handshakeStartedUs)
            guard consumed < total else { return consumed }
            var rest = bytes.extracting(droppingFirst: consumed)
            return consumed + receiveFrames(&rest, into: &sink)
        }
    }

    private mutating func refuseHandshake<Sink: ClientSessionSink>(_ reason: String, into sink: inout Sink) {
        phase = .closing
        sink.failed(.handshakeRefused(reason))
        sink.close(.now)
    }

    // MARK: - Frames

    private mutating func receiveFrames<Sink: ClientSessionSink>(_ bytes: inout MutableRawSpan, into sink: inout Sink) -> Int {
        // The reader is taken out while it reads, so that its events may change the rest of the session.
        var reader = Self.idleReader
        swap(&reader, &self.reader)
        let (outcome, inputStart) = bytes.withUnsafeMutableBytes { buffer in
            let outcome = reader.consume(buffer, inflater: sink.inflater) { event in handle(event, into: &sink) }
            guard case .fail = outcome else { return (outcome, "") }
            return (outcome, Self.printable(UnsafeRawBufferPointer(buffer).prefix(40)))
        }
        swap(&reader, &self.reader)
        switch outcome {
        case .consumed(let count):
            return count
        case .fail(let code, let reason):
            sink.failed(.protocolViolation(reason: reason, inputStart: inputStart))
            close(code: code, reason: "", into: &sink)
            return bytes.byteCount
        }
    }

    private mutating func handle<Sink: ClientSessionSink>(_ event: WebSocketEvent, into sink: inout Sink) {
        // An earlier message of this read may have closed the connection.
        guard phase == .open else { return }
        switch event {
        case .text(let payload):
            switch ServerMessageParser.parse(payload) {
            case .success(let message): sink.received(message, bytes: payload)
            case .failure(let error): sink.failed(.unreadableMessage(error.description))
            }
        case .binary:
            break
        case .ping, .pong, .close:
            switch event.requiredAnswer {
            case .pong(let payload): sink.send(.pong, payload: payload)
            case .close(let code): close(code: code, reason: "", into: &sink)
            case nil: break
            }
        }
    }

    /// Sends a close frame and closes once it is written.
    private mutating func close<Sink: ClientSessionSink>(code: CloseCode, reason: String, into sink: inout Sink) {
        phase = .closing
        let payload = FrameEncoder.closePayload(code: code, reason: reason)
        sink.send(.close, payload: payload.span.bytes)
        sink.close(.afterFlush)
    }

    /// The start of unreadable input, as text a log line can hold.
    private static func printable(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
        String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
    }
}

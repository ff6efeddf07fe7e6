/// What `WebSocketReader.consume` reports: one event per complete message or
/// control frame, and the outcome of a call.

/// A message or control frame. Payloads are spans borrowed from the reader's input (or from the
/// fragment buffer or inflater): the event is `~Escapable`, so the compiler keeps it, and every
/// payload taken out of it, inside the callback; a consumer that needs the bytes later copies them.
public enum WebSocketEvent: ~Escapable {
    /// A whole text message, already validated as UTF-8.
    case text(RawSpan)
    /// A whole binary message.
    case binary(RawSpan)
    case ping(RawSpan)
    case pong(RawSpan)
    /// The peer's close frame; `code` is nil when the frame had no payload (1005).
    case close(code: CloseCode?, reason: String)
}

/// The result of one `consume` call.
public enum ReadOutcome: Hashable, Sendable {
    /// This many bytes from the start of the input were used; keep the rest.
    case consumed(Int)
    /// The peer broke the protocol: send a close frame with this code and drop the connection.
    case fail(CloseCode, reason: String)
}

/// Which end of the connection a reader serves: it decides the masking rule.
public enum WebSocketRole: UInt8, Hashable, Sendable {
    /// Reads frames from clients, which must be masked.
    case server
    /// Reads frames from a server, which must not be masked.
    case client
}

/// What RFC 6455 requires an endpoint to send back for a control frame it received, in either role.
/// `~Escapable` like the event it answers: a pong's payload is the ping's, borrowed.
public enum ControlFrameAnswer: ~Escapable {
    /// A ping's payload goes back in a pong (5.5.2).
    case pong(RawSpan)
    /// A close is echoed with the peer's code, or 1000 when it gave none (5.5.1).
    case close(CloseCode)
}

extension WebSocketEvent {
    /// The frame owed to the peer for this event; nil for messages and pongs.
    public var requiredAnswer: ControlFrameAnswer? {
        @_lifetime(copy self)
        get {
            switch self {
            case .ping(let payload): return .pong(payload)
            case .close(let code, _): return .close(code ?? .normalClosure)
            case .text, .binary, .pong: return nil
            }
        }
    }
}

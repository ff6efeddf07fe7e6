/// What `WebSocketReader.consume` reports: one event per complete message or
/// control frame, and the outcome of a call.

/// A message or control frame. Payload pointers are valid only during the callback.
public enum WebSocketEvent {
    /// A whole text message, already validated as UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A whole binary message.
    case binary(UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
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
public enum ControlFrameAnswer {
    /// A ping's payload goes back in a pong (5.5.2); valid only during the callback.
    case pong(UnsafeRawBufferPointer)
    /// A close is echoed with the peer's code, or 1000 when it gave none (5.5.1).
    case close(CloseCode)
}

extension WebSocketEvent {
    /// The frame owed to the peer for this event; nil for messages and pongs.
    public var requiredAnswer: ControlFrameAnswer? {
        switch self {
        case .ping(let payload): return .pong(payload)
        case .close(let code, _): return .close(code ?? .normalClosure)
        case .text, .binary, .pong: return nil
        }
    }
}

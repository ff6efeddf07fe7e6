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

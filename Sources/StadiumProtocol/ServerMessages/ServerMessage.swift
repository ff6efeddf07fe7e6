/// One message a client receives (protocol v1), parsed by `ServerMessageParser`.
/// Spans and ranges point into the buffer that was parsed.
public enum ServerMessage: Equatable, Sendable {
    case ok(id: Int64?)
    /// `code` is kept as sent so newer codes survive; compare with `ErrorCode.rawValue`.
    case err(id: Int64?, code: String, message: String)
    /// `subject` is a string span (read it with `subject.string(in:)` or `subject.isString(_:in:)`);
    /// `data` is the exact byte range of the JSON value.
    case msg(subject: JSONValueSpan, seq: Int64, data: Range<Int>, retained: Bool)
    /// Reserved for replay: seqs `from...to` of `subject` were skipped.
    case gap(subject: String, from: Int64, to: Int64)
}

/// Why bytes from the gateway are not a v1 server message.
public struct MalformedServerMessage: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

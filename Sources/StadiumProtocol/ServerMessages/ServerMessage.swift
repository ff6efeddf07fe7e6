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

/// A server message with the members v1 added for subjects without a key (PROTOCOL.md,
/// "Cursors"), as `ServerMessageParser.parseWithCursor` reads it.
public struct ServerMessageWithCursor: Equatable, Sendable {
    public let message: ServerMessage
    /// The Kafka partition of a `msg` of a subject without a key, or of a `gap` of a resume with a
    /// cursor; nil elsewhere.
    public let partition: Int32?
    /// The `positions` of a sub's `ok`: per subject without a key, per partition, the offset its
    /// subscription starts after; empty elsewhere.
    public let positions: [String: [Int32: Int64]]

    public init(_ message: ServerMessage, partition: Int32? = nil, positions: [String: [Int32: Int64]] = [:]) {
        self.message = message
        self.partition = partition
        self.positions = positions
    }
}

/// Why bytes from the gateway are not a v1 server message.
public struct MalformedServerMessage: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

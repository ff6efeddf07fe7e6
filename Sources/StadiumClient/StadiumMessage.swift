import Foundation

/// A message delivered on a subscribed subject.
public struct StadiumMessage: Sendable, Equatable {
    public let subject: String
    /// The record's Kafka offset: grows within a subject with a key; compare only within one subject.
    public let seq: Int64
    /// The record value as the gateway sent it: the bytes of one JSON value.
    public let data: [UInt8]
    /// A replay of the subject's latest message on subscribing, not a new event.
    public let retained: Bool

    public init(subject: String, seq: Int64, data: [UInt8], retained: Bool) {
        self.subject = subject
        self.seq = seq
        self.data = data
        self.retained = retained
    }

    /// `data` as JSON text.
    public var text: String { String(decoding: data, as: UTF8.self) }

    /// `data` decoded as `type`.
    public func decode<Value: Decodable>(_ type: Value.Type, using decoder: JSONDecoder = JSONDecoder()) throws -> Value {
        try decoder.decode(type, from: Data(data))
    }

    /// The same message marked as a replay (for a later subscriber of a subject already held).
    func asRetained() -> StadiumMessage {
        StadiumMessage(subject: subject, seq: seq, data: data, retained: true)
    }
}

/// Messages of `subject` with seq from `from` to `to` (inclusive) may have been lost while the
/// client was away: refetch state (for a quiz, wait for the next question).
public struct StadiumGap: Sendable, Equatable {
    public let subject: String
    public let from: Int64
    public let to: Int64

    public init(subject: String, from: Int64, to: Int64) {
        self.subject = subject
        self.from = from
        self.to = to
    }
}

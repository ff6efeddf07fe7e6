import Foundation

/// A message delivered on a subscribed subject.
public struct StadiumMessage: Sendable, Equatable {
    public let subject: String
    /// The record's Kafka offset: grows within a subject with a key (and within each partition of
    /// one without); compare only within one subject.
    public let seq: Int64
    /// The record's Kafka partition, on a subject without a key (`/question`); nil on one with a key.
    public let partition: Int32?
    /// The record value as the gateway sent it: the bytes of one JSON value.
    public let data: [UInt8]
    /// A replay of the subject's latest message on subscribing, not a new event.
    public let retained: Bool

    public init(subject: String, seq: Int64, partition: Int32? = nil, data: [UInt8], retained: Bool) {
        self.subject = subject
        self.seq = seq
        self.partition = partition
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
        StadiumMessage(subject: subject, seq: seq, partition: partition, data: data, retained: true)
    }
}

/// Messages of `subject` with seq from `from` to `to` (inclusive) may have been lost while the
/// client was away: refetch state (for a quiz, wait for the next question).
public struct StadiumGap: Sendable, Equatable {
    public let subject: String
    /// The partition the seqs are offsets of, when a subject without a key resumed with its cursor.
    public let partition: Int32?
    public let from: Int64
    public let to: Int64

    public init(subject: String, partition: Int32? = nil, from: Int64, to: Int64) {
        self.subject = subject
        self.partition = partition
        self.from = from
        self.to = to
    }
}

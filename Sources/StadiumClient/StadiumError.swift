/// An `err` from the gateway, or a failure of the client's own; `code` is what programs branch on.
public struct StadiumError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A gateway `err` code (docs/PROTOCOL.md) or one of the client's own; kept as a string so
    /// codes added by later gateways survive.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // The gateway's codes.
        public static let badRequest = Code("bad_request")
        public static let badSubject = Code("bad_subject")
        public static let forbidden = Code("forbidden")
        public static let kafkaUnavailable = Code("kafka_unavailable")
        public static let timeout = Code("timeout")
        public static let rateLimited = Code("rate_limited")
        public static let tooManySubscriptions = Code("too_many_subscriptions")
        public static let tokenExpiring = Code("token_expiring")
        public static let unauthorized = Code("unauthorized")
        public static let `internal` = Code("internal")

        // The client's own.
        /// The connection dropped before the reply: the pub may or may not have been written.
        public static let connectionLost = Code("connection_lost")
        /// Nothing was sent: the client was not live (connecting, reconnecting).
        public static let notConnected = Code("not_connected")
        /// Nothing was sent: `close()` was called.
        public static let clientClosed = Code("client_closed")
        /// The token provider threw or returned an empty token.
        public static let tokenUnavailable = Code("token_unavailable")
        /// A gateway URL the client cannot use.
        public static let badURL = Code("bad_url")
        /// The gateway sent a frame that is not a v1 message (reported and ignored).
        public static let badFrame = Code("bad_frame")
    }

    public let code: Code
    public let message: String
    /// The subject of the pub or sub that was refused, when there was one.
    public let subject: String?

    public init(_ code: Code, _ message: String, subject: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public var description: String {
        subject.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)"
    }
}

/// The stable `code` of an `err` reply; clients branch on these, so they never change.
public enum ErrorCode: String, CaseIterable, Sendable {
    /// The request is not valid protocol v1 (bad JSON, unknown op, missing or ill-typed member).
    case badRequest = "bad_request"
    /// A subject does not follow the subject syntax.
    case badSubject = "bad_subject"
    /// The connection may not publish or subscribe to this subject.
    case forbidden = "forbidden"
    /// Kafka could not be reached or refused the record; retry later.
    case kafkaUnavailable = "kafka_unavailable"
    /// Kafka did not acknowledge the record in time; it may or may not have been written.
    case timeout = "timeout"
    /// The connection sends faster than allowed.
    case rateLimited = "rate_limited"
    /// The connection holds the maximum number of subscriptions.
    case tooManySubscriptions = "too_many_subscriptions"
    /// Authentication is required or the token was rejected.
    case unauthorized = "unauthorized"
    /// Sent without an id shortly before the connection's token expires: send `auth` with a
    /// fresh token for the same user, or the connection is closed (1008) at expiry.
    case tokenExpiring = "token_expiring"
    /// A gateway bug or unexpected state; the message says what failed.
    case `internal` = "internal"
}

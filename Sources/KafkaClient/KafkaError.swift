import CRdKafka

/// An error from the Kafka layer: librdkafka's code, name and text, and where it happened.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, at the level a caller decides on.
    public enum Kind: Sendable, Equatable {
        /// A property was rejected by librdkafka or a handle could not be created.
        case configuration
        /// The producer's local queue is full: back off and retry.
        case queueFull
        /// The topic does not exist in the cluster.
        case unknownTopic
        /// Topics asked for at start are absent from the cluster, by name.
        case missingTopics([String])
        /// A record could not be delivered (see `code` for why).
        case delivery
        /// A blocking librdkafka call ran out of time.
        case timedOut
        /// The client was closed before the call.
        case closed
        /// Any other librdkafka failure.
        case librdkafka
    }

    public let kind: Kind
    /// librdkafka's `rd_kafka_resp_err_t` value; `.noError` when the error is Stadium's own.
    public let code: Code
    /// librdkafka's symbolic name of `code`, e.g. `_QUEUE_FULL`.
    public let name: String
    /// librdkafka's human message, or Stadium's own for errors librdkafka did not raise.
    public let message: String
    /// The client instance is unusable and must be recreated.
    public let isFatal: Bool
    /// Retrying the same operation may succeed.
    public let isRetriable: Bool
    /// The librdkafka call or Stadium operation that failed.
    public let operation: String
    public let file: String
    public let line: UInt

    public var description: String {
        "KafkaError.\(kind) in \(operation): \(message) [\(name) \(code.rawValue)] (\(file):\(line))"
    }

    init(
        kind: Kind, code: Code, message: String, isFatal: Bool = false, isRetriable: Bool? = nil,
        operation: String, file: String, line: UInt
    ) {
        self.kind = kind
        self.code = code
        self.name = code.name
        self.message = message
        self.isFatal = isFatal
        self.isRetriable = isRetriable ?? code.isTransient
        self.operation = operation
        self.file = file
        self.line = line
    }
}

extension KafkaError {
    /// A librdkafka response code without importing CRdKafka.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let noError = Code(rawValue: RD_KAFKA_RESP_ERR_NO_ERROR.rawValue)
        public static let queueFull = Code(rawValue: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue)
        public static let messageTimedOut = Code(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
        public static let timedOut = Code(rawValue: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue)
        public static let transport = Code(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
        public static let allBrokersDown = Code(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
        public static let unknownTopic = Code(rawValue: RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue)
        public static let unknownTopicOrPartition = Code(
            rawValue: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
        public static let invalidArgument = Code(rawValue: RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue)
        public static let fatal = Code(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)

        var cValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

        /// librdkafka's symbolic name, e.g. `_MSG_TIMED_OUT`.
        public var name: String { String(cString: rd_kafka_err2name(cValue)) }

        public var description: String { "\(name) (\(rawValue))" }

        /// Codes that describe a passing condition, for errors that arrive without an `rd_kafka_error_t`.
        var isTransient: Bool {
            switch cValue {
            case RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
                RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
                return true
            default:
                return false
            }
        }
    }
}

extension KafkaError {
    /// Wraps a plain response code, with librdkafka's text for it.
    static func librdkafka(
        _ code: rd_kafka_resp_err_t, kind: Kind? = nil, message: String? = nil, operation: String,
        file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let swiftCode = Code(rawValue: code.rawValue)
        return KafkaError(
            kind: kind ?? Kind(code), code: swiftCode,
            message: message ?? String(cString: rd_kafka_err2str(code)),
            operation: operation, file: file, line: line)
    }

    /// Copies everything out of a rich `rd_kafka_error_t`, then destroys it (this call owns it).
    static func consuming(
        _ error: OpaquePointer, operation: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        let code = rd_kafka_error_code(error)
        let message = String(cString: rd_kafka_error_string(error))
        let isFatal = rd_kafka_error_is_fatal(error) != 0
        let isRetriable = rd_kafka_error_is_retriable(error) != 0
        rd_kafka_error_destroy(error)
        return KafkaError(
            kind: Kind(code), code: Code(rawValue: code.rawValue), message: message,
            isFatal: isFatal, isRetriable: isRetriable, operation: operation, file: file, line: line)
    }

    /// An error Stadium raises itself, with no librdkafka code.
    static func stadium(
        _ kind: Kind, _ message: String, operation: String, file: String = #fileID, line: UInt = #line
    ) -> KafkaError {
        KafkaError(
            kind: kind, code: .noError, message: message, isRetriable: false, operation: operation,
            file: file, line: line)
    }
}

extension KafkaError.Kind {
    init(_ code: rd_kafka_resp_err_t) {
        switch code {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL: self = .queueFull
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: self = .unknownTopic
        case RD_KAFKA_RESP_ERR__TIMED_OUT: self = .timedOut
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT: self = .delivery
        default: self = .librdkafka
        }
    }
}

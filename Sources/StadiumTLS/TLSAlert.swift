/// The TLS alert descriptions this module sends or reports (RFC 8446 section 6).
public enum TLSAlert: UInt8, Sendable, CustomStringConvertible {
    case closeNotify = 0
    case unexpectedMessage = 10
    case badRecordMAC = 20
    case recordOverflow = 22
    case handshakeFailure = 40
    case badCertificate = 42
    case certificateExpired = 45
    case certificateUnknown = 46
    case illegalParameter = 47
    case unknownCA = 48
    case decodeError = 50
    case decryptError = 51
    case protocolVersion = 70
    case insufficientSecurity = 71
    case internalError = 80
    case userCanceled = 90
    case missingExtension = 109
    case unsupportedExtension = 110
    case unrecognizedName = 112
    case noApplicationProtocol = 120

    public var description: String {
        switch self {
        case .closeNotify: "close_notify"
        case .unexpectedMessage: "unexpected_message"
        case .badRecordMAC: "bad_record_mac"
        case .recordOverflow: "record_overflow"
        case .handshakeFailure: "handshake_failure"
        case .badCertificate: "bad_certificate"
        case .certificateExpired: "certificate_expired"
        case .certificateUnknown: "certificate_unknown"
        case .illegalParameter: "illegal_parameter"
        case .unknownCA: "unknown_ca"
        case .decodeError: "decode_error"
        case .decryptError: "decrypt_error"
        case .protocolVersion: "protocol_version"
        case .insufficientSecurity: "insufficient_security"
        case .internalError: "internal_error"
        case .userCanceled: "user_canceled"
        case .missingExtension: "missing_extension"
        case .unsupportedExtension: "unsupported_extension"
        case .unrecognizedName: "unrecognized_name"
        case .noApplicationProtocol: "no_application_protocol"
        }
    }
}

/// Why a connection's TLS records cannot go on. `alert` is what to send the peer before
/// closing (nil when the peer ended it, or when nothing may be sent).
public enum TLSRecordError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a TLS record header at all (plain HTTP on the TLS port, garbage).
    case notTLS
    /// A record longer than RFC 8446 allows (2^14 + 256 ciphertext, 2^14 + 1 inner plaintext).
    case recordOverflow(length: Int)
    /// The record did not authenticate under the current keys.
    case badRecordMAC
    /// A content type, or a handshake message, that has no place here.
    case unexpectedMessage(String)
    /// A message whose length fields do not add up.
    case decodeError(String)
    /// A field with a value the protocol does not define.
    case illegalParameter(String)
    /// The peer sent a fatal alert.
    case peerAlert(UInt8)
    /// Records after the peer's close_notify, or a write after ours.
    case closed
    /// 2^64 records under one key: the connection must end.
    case sequenceExhausted
    /// libcrypto refused an operation that cannot fail on valid input.
    case cryptoFailure(String)

    public var alert: TLSAlert? {
        switch self {
        case .notTLS: .unexpectedMessage
        case .recordOverflow: .recordOverflow
        case .badRecordMAC: .badRecordMAC
        case .unexpectedMessage: .unexpectedMessage
        case .decodeError: .decodeError
        case .illegalParameter: .illegalParameter
        case .peerAlert, .closed: nil
        case .sequenceExhausted, .cryptoFailure: .internalError
        }
    }

    public var description: String {
        switch self {
        case .notTLS: "not a TLS record (plain text or garbage on the TLS port)"
        case .recordOverflow(let length): "record too long (\(length) bytes)"
        case .badRecordMAC: "record did not authenticate"
        case .unexpectedMessage(let what): "unexpected message: \(what)"
        case .decodeError(let what): "malformed message: \(what)"
        case .illegalParameter(let what): "illegal parameter: \(what)"
        case .peerAlert(let code):
            "peer sent alert \(TLSAlert(rawValue: code).map { $0.description } ?? String(code))"
        case .closed: "connection already closed"
        case .sequenceExhausted: "record sequence number exhausted"
        case .cryptoFailure(let what): "libcrypto failed: \(what)"
        }
    }
}

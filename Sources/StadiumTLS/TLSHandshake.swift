import COpenSSL

/// Why a handshake failed. Any alert OpenSSL wrote for the peer is already in the output.
public enum TLSHandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer's bytes are not TLS: plain HTTP on the TLS port, or garbage.
    case notTLS(String)
    /// The peer offered only versions this end refuses (TLS 1.1 and older), or the reverse.
    case protocolVersion(String)
    /// The input ended in the middle of a handshake message (a truncated ClientHello).
    case truncated(String)
    /// The peer sent a fatal alert (its code).
    case peerAlert(UInt8, String)
    /// Certificate, cipher or extension trouble, as OpenSSL words it.
    case failed(String)

    public var description: String {
        switch self {
        case .notTLS(let why): "not TLS: \(why)"
        case .protocolVersion(let why): "refused TLS version: \(why)"
        case .truncated(let why): "truncated handshake: \(why)"
        case .peerAlert(_, let why): "peer alert: \(why)"
        case .failed(let why): "handshake failed: \(why)"
        }
    }

    static func from(_ error: OpenSSLError?, fallback: String) -> TLSHandshakeError {
        guard let error, error.library == ERR_LIB_SSL else { return .failed(error?.text ?? fallback) }
        switch error.reason {
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG,
            SSL_R_RECORD_LENGTH_MISMATCH:
            return .notTLS(error.text)
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
            return .protocolVersion(error.text)
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            return .truncated(error.text)
        case SSL_AD_REASON_OFFSET...(SSL_AD_REASON_OFFSET + 255):
            // Reasons from 1000 are alerts received from the peer, offset by 1000.
            return .peerAlert(UInt8(error.reason - SSL_AD_REASON_OFFSET), error.text)
        default:
            return .failed(error.text)
        }
    }
}

public enum TLSVersion: Sendable, Equatable {
    case tls12
    case tls13
}

/// The record layer a finished handshake leaves.
public enum TLSSession {
    /// Keys only; the SSL object is gone.
    case tls13(TLS13RecordState)
    /// TLS 1.2 keeps its SSL (with SSL_MODE_RELEASE_BUFFERS).
    case tls12(TLS12Session)
}

public struct TLSEstablished {
    public var session: TLSSession
    public let version: TLSVersion
    public let cipherName: String
    public let alpn: String?
    /// Bytes already received after the handshake's last message: records under the traffic
    /// keys, to open before the next read (TLS 1.3 only; a TLS 1.2 session still holds them).
    public let leftover: [UInt8]
}

public enum TLSHandshakeStatus {
    case needsInput
    case established(TLSEstablished)
}

/// One connection's handshake over memory BIOs: no socket, no blocking. Feed it what was
/// received; send what it appends to `output`; repeat until `.established`. A TLS 1.3 handshake
/// ends by freeing the SSL and keeping only `TLS13RecordState`.
public final class TLSHandshake {
    public let role: TLSRole
    private var ssl: OpaquePointer?
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private var clientSecret: [UInt8]? = nil
    private var serverSecret: [UInt8]? = nil

    /// `serverName` (client role): checked against the certificate, and sent as SNI when a DNS name.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSHandshakeError) {
        role = context.role
        ERR_clear_error()
        guard let ssl = context.makeSSL() else {
            throw .failed(OpenSSLError.describe("SSL_new"))
        }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .failed(OpenSSLError.describe("BIO_new"))
        }
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        // The SSL owns both BIOs from here and frees them with itself.
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_ex_data(ssl, handshakeIndex, Unmanaged.passUnretained(self).toOpaque())
        if role == .server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                guard st_ssl_expect_peer_name(ssl, serverName) == 1 else {
                    throw .failed(OpenSSLError.describe("peer name \(serverName)"))
                }
            }
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    /// Offers or accepts TLS 1.2 only (a load generator measuring the TLS 1.2 path); before the first `advance`.
    public func restrictToTLS12() -> Bool {
        withSSL { st_ssl_set_proto_range($0, TLS1_2_VERSION, TLS1_2_VERSION) == 1 } ?? false
    }

    /// The SSL before the first `advance`, for tests that play a peer this module would not be
    /// (a TLS 1.1-only client, a client without http/1.1).
    func withSSL<T>(_ body: (OpaquePointer) -> T) -> T? {
        ssl.map(body)
    }

    /// Feeds `received` (may be empty, to start a client) and runs the handshake as far as it
    /// goes; bytes to send are appended to `output`, also when it throws (the alert).
    public func advance(received: RawSpan, output: inout [UInt8]) throws(TLSHandshakeError)
        -> TLSHandshakeStatus
    {
        guard let ssl else { throw .failed("handshake already finished") }
        ERR_clear_error()
        if received.byteCount > 0 {
            // A memory BIO takes everything it is given (a copy).
            _ = received.withUnsafeBytes { BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
        }
        let result = SSL_do_handshake(ssl)
        drain(into: &output)
        if result == 1 { return .established(try finish(ssl)) }
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_WANT_READ { return .needsInput }
        throw TLSHandshakeError.from(OpenSSLError.take(), fallback: "SSL_get_error \(code)")
    }

    /// The peer closed its side before the handshake finished: says what was missing.
    public func inputEnded(output: inout [UInt8]) -> TLSHandshakeError {
        guard let ssl else { return .failed("handshake already finished") }
        ERR_clear_error()
        // From now on an empty read BIO means end of input, not "wait for more".
        _ = BIO_ctrl(readBIO, BIO_C_SET_BUF_MEM_EOF_RETURN, 0, nil)
        let result = SSL_do_handshake(ssl)
        drain(into: &output)
        guard result != 1 else { return .truncated("input ended after the handshake") }
        return TLSHandshakeError.from(OpenSSLError.take(), fallback: "input ended")
    }

    func noteKeyLog(_ line: String) {
        guard let entry = KeyLogLine(line) else { return }
        switch entry.label {
        case .clientTrafficSecret0: clientSecret = entry.secret
        case .serverTrafficSecret0: serverSecret = entry.secret
        }
    }

    private func drain(into output: inout [UInt8]) { drainMemoryBIO(writeBIO, into: &output) }

    private func finish(_ ssl: OpaquePointer) throws(TLSHandshakeError) -> TLSEstablished {
        let cipher = SSL_get_current_cipher(ssl)
        let cipherName = cipher.flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "?"
        var alpnBytes: UnsafePointer<UInt8>? = nil
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnBytes, &alpnLength)
        let alpn = alpnBytes.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self) }

        guard SSL_version(ssl) == TLS1_3_VERSION else {
            self.ssl = nil
            return TLSEstablished(
                session: .tls12(TLS12Session(ssl: ssl, readBIO: readBIO, writeBIO: writeBIO)), version: .tls12,
                cipherName: cipherName, alpn: alpn, leftover: [])
        }
        let suiteID = cipher.map { UInt16(truncatingIfNeeded: SSL_CIPHER_get_protocol_id($0)) }
        guard let suiteID, let suite = TLS13CipherSuite(rawValue: suiteID) else {
            throw .failed("TLS 1.3 suite \(cipherName) has no record layer here")
        }
        guard let clientSecret, let serverSecret else { throw .failed("the key log gave no traffic secrets") }
        // With read-ahead off OpenSSL has read nothing past the handshake; the rest is still in the BIO.
        guard SSL_has_pending(ssl) == 0 else { throw .failed("OpenSSL holds bytes past the handshake") }
        var leftover = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(readBIO)))
        if !leftover.isEmpty {
            let read = leftover.withUnsafeMutableBytes { BIO_read(readBIO, $0.baseAddress, Int32($0.count)) }
            leftover.removeLast(leftover.count - Int(max(read, 0)))
        }
        let state: TLS13RecordState
        do {
            state = try TLS13RecordState(suite: suite, role: role, clientSecret: clientSecret, serverSecret: serverSecret)
        } catch {
            throw .failed(error.description)
        }
        SSL_free(ssl)
        self.ssl = nil
        self.clientSecret = nil
        self.serverSecret = nil
        return TLSEstablished(session: .tls13(state), version: .tls13, cipherName: cipherName, alpn: alpn, leftover: leftover)
    }
}

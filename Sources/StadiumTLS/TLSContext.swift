import COpenSSL
import Synchronization

/// Why a TLS context could not be built from its files.
public struct TLSConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}

/// The files a server context is built from: a PEM certificate chain (leaf first) and its key.
public struct TLSServerFiles: Sendable, Equatable {
    public var certificateChain: String
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}

/// One SSL_CTX per role, shared by every handshake. `reload` builds a new one from the same
/// files and swaps it in: handshakes under way keep the one they started with (each SSL holds
/// a reference), and established TLS 1.3 connections use neither.
public final class TLSContext: Sendable {
    public let role: TLSRole
    private let build: @Sendable () throws(TLSConfigurationError) -> ContextHandle
    private let current: Mutex<ContextHandle>

    /// TLS 1.3 and 1.2 (ECDHE with AEAD only), ALPN http/1.1, no tickets.
    public static func server(_ files: TLSServerFiles) throws(TLSConfigurationError) -> TLSContext {
        try TLSContext(role: .server) { () throws(TLSConfigurationError) in try makeServerContext(files) }
    }

    /// Verifies servers against `caFile` (PEM), or the system's CAs when nil; offers ALPN http/1.1.
    public static func client(caFile: String?) throws(TLSConfigurationError) -> TLSContext {
        try TLSContext(role: .client) { () throws(TLSConfigurationError) in try makeClientContext(caFile: caFile) }
    }

    private init(
        role: TLSRole, build: @escaping @Sendable () throws(TLSConfigurationError) -> ContextHandle
    ) throws(TLSConfigurationError) {
        self.role = role
        self.build = build
        current = Mutex(try build())
    }

    /// Re-reads the files; on failure the context in use stays and the error says why.
    public func reload() throws(TLSConfigurationError) {
        let fresh = try build()
        current.withLock { $0 = fresh }
    }

    /// A new SSL of the current context (its own reference to that context).
    func makeSSL() -> OpaquePointer? {
        current.withLock { SSL_new($0.context) }
    }
}

final class ContextHandle: @unchecked Sendable {
    let context: OpaquePointer
    init(_ context: OpaquePointer) { self.context = context }
    deinit { SSL_CTX_free(context) }
}

private let tls12Ciphers = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
].joined(separator: ":")
private let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

private func makeCommonContext(method: OpaquePointer?) throws(TLSConfigurationError) -> ContextHandle {
    ERR_clear_error()
    guard let context = SSL_CTX_new(method) else {
        throw TLSConfigurationError(description: OpenSSLError.describe("SSL_CTX_new"))
    }
    let handle = ContextHandle(context)
    guard st_ctx_set_proto_range(context, TLS1_2_VERSION, TLS1_3_VERSION) == 1, st_ctx_harden(context) == 1,
        SSL_CTX_set_cipher_list(context, tls12Ciphers) == 1, SSL_CTX_set_ciphersuites(context, tls13Suites) == 1
    else { throw TLSConfigurationError(description: OpenSSLError.describe("TLS versions and ciphers")) }
    // A TLS 1.2 connection keeps its SSL; its buffers go back while it idles.
    _ = st_ctx_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
    _ = st_ctx_disable_session_cache(context)
    SSL_CTX_set_keylog_callback(context, keyLogCallback)
    return handle
}

private func makeServerContext(_ files: TLSServerFiles) throws(TLSConfigurationError) -> ContextHandle {
    let handle = try makeCommonContext(method: TLS_server_method())
    let context = handle.context
    guard SSL_CTX_use_certificate_chain_file(context, files.certificateChain) == 1 else {
        throw TLSConfigurationError(description: OpenSSLError.describe("certificate chain \(files.certificateChain)"))
    }
    guard SSL_CTX_use_PrivateKey_file(context, files.privateKey, SSL_FILETYPE_PEM) == 1 else {
        throw TLSConfigurationError(description: OpenSSLError.describe("private key \(files.privateKey)"))
    }
    guard SSL_CTX_check_private_key(context) == 1 else {
        throw TLSConfigurationError(description: OpenSSLError.describe("key does not match the certificate"))
    }
    // Tickets would be sealed under the first application keys; none keeps sequence numbers at 0.
    _ = SSL_CTX_set_num_tickets(context, 0)
    SSL_CTX_set_alpn_select_cb(context, alpnSelectCallback, nil)
    return handle
}

private func makeClientContext(caFile: String?) throws(TLSConfigurationError) -> ContextHandle {
    let handle = try makeCommonContext(method: TLS_client_method())
    let context = handle.context
    let loaded =
        if let caFile { SSL_CTX_load_verify_locations(context, caFile, nil) } else { SSL_CTX_set_default_verify_paths(context) }
    guard loaded == 1 else {
        throw TLSConfigurationError(description: OpenSSLError.describe("CA file \(caFile ?? "(system)")"))
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    let protocols = ALPN.wire([ALPN.http11])
    // SSL_CTX_set_alpn_protos returns 0 on success.
    guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
        throw TLSConfigurationError(description: OpenSSLError.describe("ALPN"))
    }
    return handle
}

/// A client that offers ALPN must offer http/1.1: WebSocket runs over nothing else (RFC 6455).
private let alpnSelectCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
        guard let out, let outLength, let offered,
            let chosen = ALPN.select(ALPN.http11, from: UnsafeRawBufferPointer(start: offered, count: Int(offeredLength)).bytes)
        else { return SSL_TLSEXT_ERR_ALERT_FATAL }
        out.pointee = offered + chosen.offset
        outLength.pointee = UInt8(chosen.count)
        return SSL_TLSEXT_ERR_OK
    }

/// Where each SSL's handshake keeps the secrets the key log hands over.
let handshakeIndex = st_ssl_get_ex_new_index()

private let keyLogCallback: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void = { ssl, line in
    guard let ssl, let line, let handshake = SSL_get_ex_data(ssl, handshakeIndex) else { return }
    Unmanaged<TLSHandshake>.fromOpaque(handshake).takeUnretainedValue().noteKeyLog(String(cString: line))
}

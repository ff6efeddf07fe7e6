import COpenSSL

/// A TLS 1.2 connection after its handshake: records stay with OpenSSL (the SSL object is
/// kept, its buffers released while idle). Bytes in and out go through memory BIOs.
public final class TLS12Session {
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    /// Bytes a record adds to at most 2^14 bytes of content: header, explicit nonce (AES-GCM), tag.
    public static let recordOverhead = TLSRecordHeader.length + 8 + TLS13CipherSuite.tagLength

    init(ssl: OpaquePointer, readBIO: OpaquePointer, writeBIO: OpaquePointer) {
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        SSL_set_ex_data(ssl, handshakeIndex, nil)
    }

    deinit { SSL_free(ssl) }

    /// The most `seal` writes for `count` bytes.
    public static func sealedLength(plaintextCount count: Int) -> Int {
        count + max(1, (count + TLSRecordHeader.maxPlaintext - 1) / TLSRecordHeader.maxPlaintext) * recordOverhead
    }

    /// Seals `plaintext` as records into `output`; returns the bytes written.
    public func seal(_ plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(TLSRecordError)
        -> Int
    {
        ERR_clear_error()
        if plaintext.count > 0 {
            let written = SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count))
            guard written == Int32(plaintext.count) else { throw failure(written) }
        }
        guard Int(BIO_ctrl_pending(writeBIO)) <= output.count else { throw .cryptoFailure("output buffer too small") }
        return drain(into: output)
    }

    /// Opens what was received, handing application data to `deliver` through `scratch` (a
    /// thread's buffer of 2^14 bytes); true once the peer's close_notify has arrived.
    public func open(
        _ received: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer, deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(TLSRecordError) -> Bool {
        ERR_clear_error()
        if received.count > 0 { _ = BIO_write(readBIO, received.baseAddress, Int32(received.count)) }
        while true {
            let read = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
            if read > 0 {
                deliver(UnsafeRawBufferPointer(rebasing: scratch[..<Int(read)]))
                continue
            }
            switch SSL_get_error(ssl, read) {
            case SSL_ERROR_WANT_READ: return false
            case SSL_ERROR_ZERO_RETURN: return true
            default: throw failure(read)
            }
        }
    }

    /// Seals close_notify into `output` (room for one alert record); returns the bytes written.
    public func close(into output: UnsafeMutableRawBufferPointer) -> Int {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        return drain(into: output)
    }

    /// The alert OpenSSL wrote when `open` or `seal` failed (SSL_shutdown is not allowed then).
    public func alertAfterFailure(into output: UnsafeMutableRawBufferPointer) -> Int {
        drain(into: output)
    }

    private func failure(_ result: Int32) -> TLSRecordError {
        let error = OpenSSLError.take()
        if let error, error.library == ERR_LIB_SSL, error.reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC {
            return .badRecordMAC
        }
        if let error, error.library == ERR_LIB_SSL, error.reason >= SSL_AD_REASON_OFFSET {
            return .peerAlert(UInt8(truncatingIfNeeded: error.reason - SSL_AD_REASON_OFFSET))
        }
        return .cryptoFailure(error?.text ?? "SSL error \(SSL_get_error(ssl, result))")
    }

    private func drain(into output: UnsafeMutableRawBufferPointer) -> Int {
        let pending = min(Int(BIO_ctrl_pending(writeBIO)), output.count)
        guard pending > 0 else { return 0 }
        return Int(max(BIO_read(writeBIO, output.baseAddress, Int32(pending)), 0))
    }
}

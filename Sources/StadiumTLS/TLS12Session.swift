import COpenSSL

/// A TLS 1.2 connection after its handshake: records stay with OpenSSL (the SSL object is
/// kept, its buffers released while idle). Bytes in and out go through memory BIOs.
public final class TLS12Session {
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    init(ssl: OpaquePointer, readBIO: OpaquePointer, writeBIO: OpaquePointer) {
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        SSL_set_ex_data(ssl, handshakeIndex, nil)
    }

    deinit { SSL_free(ssl) }

    /// Seals `plaintext` as records appended to `output`.
    public func seal(_ plaintext: UnsafeRawBufferPointer, output: inout [UInt8]) throws(TLSRecordError) {
        ERR_clear_error()
        if plaintext.count > 0 {
            let written = SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count))
            guard written == Int32(plaintext.count) else { throw failure(written) }
        }
        drain(into: &output)
    }

    /// Opens what was received, appending application data to `plaintext`; true once the peer's
    /// close_notify has arrived.
    public func open(_ received: UnsafeRawBufferPointer, plaintext: inout [UInt8]) throws(TLSRecordError) -> Bool {
        ERR_clear_error()
        if received.count > 0 { _ = BIO_write(readBIO, received.baseAddress, Int32(received.count)) }
        var chunk = [UInt8](repeating: 0, count: TLSRecordHeader.maxPlaintext)
        while true {
            let read = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if read > 0 {
                plaintext.append(contentsOf: chunk[..<Int(read)])
                continue
            }
            switch SSL_get_error(ssl, read) {
            case SSL_ERROR_WANT_READ: return false
            case SSL_ERROR_ZERO_RETURN: return true
            default: throw failure(read)
            }
        }
    }

    /// Seals close_notify into `output`.
    public func close(output: inout [UInt8]) {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        drain(into: &output)
    }

    /// The alert OpenSSL wrote when `open` or `seal` failed (SSL_shutdown is not allowed then).
    public func alertAfterFailure(output: inout [UInt8]) {
        drain(into: &output)
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

    private func drain(into output: inout [UInt8]) { drainMemoryBIO(writeBIO, into: &output) }
}

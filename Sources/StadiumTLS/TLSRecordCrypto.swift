import COpenSSL

/// libcrypto's AEAD contexts for one thread: every connection of a ring seals and opens
/// through the same contexts, re-keyed per record, so a connection holds keys and not
/// OpenSSL's expanded key schedules (about 1 KiB each). Not thread-safe: one per thread.
public final class TLSRecordCrypto {
    private let contexts: [OpaquePointer]
    /// Where TLS 1.2 sessions (OpenSSL's record layer) put plaintext before handing it on.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: TLSRecordHeader.maxPlaintext, alignment: 16)

    public init() throws(TLSRecordError) {
        var made: [OpaquePointer] = []
        for suite in TLS13CipherSuite.allCases {
            guard let context = EVP_CIPHER_CTX_new() else { throw .cryptoFailure("EVP_CIPHER_CTX_new") }
            made.append(context)
            // The cipher is bound once; each record only sets key and nonce.
            guard EVP_CipherInit_ex(context, suite.cipher, nil, nil, nil, 1) == 1 else {
                made.forEach { EVP_CIPHER_CTX_free($0) }
                scratch.deallocate()
                throw .cryptoFailure("EVP_CipherInit_ex for suite \(suite)")
            }
        }
        contexts = made
    }

    deinit {
        contexts.forEach { EVP_CIPHER_CTX_free($0) }
        scratch.deallocate()
    }

    private func context(_ suite: TLS13CipherSuite) -> OpaquePointer {
        switch suite {
        case .aes128GCMSHA256: contexts[0]
        case .aes256GCMSHA384: contexts[1]
        case .chacha20Poly1305SHA256: contexts[2]
        }
    }

    /// Sets this record's key and nonce (the sequence number XOR the IV) on a context.
    private func rekey(_ context: OpaquePointer, _ keys: TrafficKeys, encrypt: Bool) -> Bool {
        var nonce = keys.nonce()
        var key = keys.key
        return withUnsafeBytes(of: &key) { keyBytes in
            withUnsafeBytes(of: &nonce) { nonceBytes in
                EVP_CipherInit_ex(
                    context, nil, nil, keyBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    nonceBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), encrypt ? 1 : 0) == 1
            }
        }
    }

    /// Encrypts `content` then `innerType` into `output` (ciphertext followed by the tag);
    /// `output` must hold content.count + 1 + 16 bytes.
    func seal(
        suite: TLS13CipherSuite, keys: TrafficKeys, header: UnsafeRawBufferPointer,
        content: UnsafeRawBufferPointer, innerType: UInt8, output: UnsafeMutableRawBufferPointer
    ) throws(TLSRecordError) {
        let context = context(suite)
        var innerTypeByte = innerType
        var length: Int32 = 0
        let base = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard rekey(context, keys, encrypt: true),
            EVP_CipherUpdate(context, nil, &length, header.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(header.count)) == 1,
            content.isEmpty
                || EVP_CipherUpdate(
                    context, base, &length, content.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(content.count)) == 1,
            EVP_CipherUpdate(context, base + content.count, &length, &innerTypeByte, 1) == 1,
            EVP_CipherFinal_ex(context, base + content.count + 1, &length) == 1,
            st_cipher_ctx_get_tag(context, base + content.count + 1, Int32(TLS13CipherSuite.tagLength)) == 1
        else { throw .cryptoFailure("AEAD seal") }
    }

    /// Decrypts `body` (ciphertext and tag) in place; true when it authenticated.
    func open(
        suite: TLS13CipherSuite, keys: TrafficKeys, header: UnsafeRawBufferPointer,
        body: UnsafeMutableRawBufferPointer
    ) throws(TLSRecordError) -> Bool {
        let context = context(suite)
        var length: Int32 = 0
        let cipherCount = body.count - TLS13CipherSuite.tagLength
        let base = body.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard rekey(context, keys, encrypt: false),
            EVP_CipherUpdate(context, nil, &length, header.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(header.count)) == 1,
            cipherCount == 0 || EVP_CipherUpdate(context, base, &length, base, Int32(cipherCount)) == 1,
            st_cipher_ctx_set_tag(context, base + cipherCount, Int32(TLS13CipherSuite.tagLength)) == 1
        else { throw .cryptoFailure("AEAD open") }
        // A tag mismatch is the peer's (or an attacker's) fault, not libcrypto's: false, not a throw.
        return EVP_CipherFinal_ex(context, base + cipherCount, &length) == 1
    }
}

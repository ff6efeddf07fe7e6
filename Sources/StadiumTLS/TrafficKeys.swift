import COpenSSL

/// One direction's record protection: the traffic secret (kept for KeyUpdate), the AEAD key
/// and IV derived from it, and the next record's sequence number. Fixed size, no heap.
struct TrafficKeys: Sendable {
    private(set) var secret = InlineArray<48, UInt8>(repeating: 0)
    private(set) var key = InlineArray<32, UInt8>(repeating: 0)
    private(set) var iv = InlineArray<12, UInt8>(repeating: 0)
    var sequence: UInt64 = 0

    /// Keys from a traffic secret of `suite.hashLength` bytes (RFC 8446 section 7.3).
    init(suite: TLS13CipherSuite, secret: some Collection<UInt8>) throws(TLSRecordError) {
        guard secret.count == suite.hashLength else {
            throw .cryptoFailure("traffic secret of \(secret.count) bytes for a \(suite.hashLength)-byte hash")
        }
        for (index, byte) in secret.enumerated() { self.secret[index] = byte }
        try derive(suite: suite)
    }

    /// The next generation after a KeyUpdate: secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
    mutating func update(suite: TLS13CipherSuite) throws(TLSRecordError) {
        var next = InlineArray<48, UInt8>(repeating: 0)
        try Self.expandLabel(suite: suite, secret: secret, label: "traffic upd", into: &next, count: suite.hashLength)
        secret = next
        sequence = 0
        try derive(suite: suite)
    }

    private mutating func derive(suite: TLS13CipherSuite) throws(TLSRecordError) {
        var newKey = InlineArray<32, UInt8>(repeating: 0)
        var newIV = InlineArray<12, UInt8>(repeating: 0)
        try Self.expandLabel(suite: suite, secret: secret, label: "key", into: &newKey, count: suite.keyLength)
        try Self.expandLabel(suite: suite, secret: secret, label: "iv", into: &newIV, count: TLS13CipherSuite.ivLength)
        key = newKey
        iv = newIV
    }

    /// The per-record nonce: the IV XOR the sequence number, big-endian in the last 8 bytes.
    func nonce() -> InlineArray<12, UInt8> {
        var nonce = iv
        for index in 0..<8 {
            nonce[4 + index] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(index)))
        }
        return nonce
    }

    /// HKDF-Expand-Label with an empty context, for outputs no longer than the hash (one HMAC block).
    static func expandLabel<let N: Int>(
        suite: TLS13CipherSuite, secret: InlineArray<48, UInt8>, label: String,
        into output: inout InlineArray<N, UInt8>, count: Int
    ) throws(TLSRecordError) {
        let info = HKDFLabel.encode(length: count, label: label, context: [])
        var block = InlineArray<64, UInt8>(repeating: 0)
        var blockLength: UInt32 = 0
        var secretCopy = secret
        // T(1) = HMAC(secret, info || 0x01): enough because count never exceeds the hash length.
        let produced = withUnsafeBytes(of: &secretCopy) { secretBytes in
            withUnsafeMutableBytes(of: &block) { blockBytes in
                (info + [1]).withUnsafeBytes { message in
                    HMAC(
                        suite.digest, secretBytes.baseAddress, Int32(suite.hashLength),
                        message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                        blockBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), &blockLength)
                }
            }
        }
        guard produced != nil, Int(blockLength) == suite.hashLength, count <= N else {
            throw .cryptoFailure("HMAC for HKDF-Expand-Label \"\(label)\"")
        }
        for index in 0..<count { output[index] = block[index] }
    }
}

/// The HkdfLabel structure of RFC 8446 section 7.1, as bytes.
enum HKDFLabel {
    static func encode(length: Int, label: String, context: [UInt8]) -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        var bytes = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)]
        bytes += fullLabel
        bytes.append(UInt8(context.count))
        bytes += context
        return bytes
    }
}

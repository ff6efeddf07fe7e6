import COpenSSL

/// The three TLS 1.3 cipher suites this module protects records with (RFC 8446 appendix B.4).
public enum TLS13CipherSuite: UInt16, Sendable, CaseIterable {
    case aes128GCMSHA256 = 0x1301
    case aes256GCMSHA384 = 0x1302
    case chacha20Poly1305SHA256 = 0x1303

    public var keyLength: Int {
        switch self {
        case .aes128GCMSHA256: 16
        case .aes256GCMSHA384, .chacha20Poly1305SHA256: 32
        }
    }

    /// Length of a traffic secret: the output of the suite's hash.
    public var hashLength: Int {
        switch self {
        case .aes128GCMSHA256, .chacha20Poly1305SHA256: 32
        case .aes256GCMSHA384: 48
        }
    }

    public static let ivLength = 12
    public static let tagLength = 16

    var digest: OpaquePointer {
        switch self {
        case .aes128GCMSHA256, .chacha20Poly1305SHA256: EVP_sha256()
        case .aes256GCMSHA384: EVP_sha384()
        }
    }

    var cipher: OpaquePointer {
        switch self {
        case .aes128GCMSHA256: EVP_aes_128_gcm()
        case .aes256GCMSHA384: EVP_aes_256_gcm()
        case .chacha20Poly1305SHA256: EVP_chacha20_poly1305()
        }
    }
}

/// The Sec-WebSocket-Accept computation (RFC 6455 section 4.2.2). The only file
/// that imports swift-crypto, so the fuzz build can substitute it.
import Crypto

extension WebSocketHandshake {
    /// base64(SHA-1(key + the RFC 6455 GUID)).
    public static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + acceptGUID).utf8))
        return Base64.encode(Array(digest))
    }
}

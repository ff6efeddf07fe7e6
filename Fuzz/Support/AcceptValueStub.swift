/// Fuzz builds only: stands in for Sources/WebSocket/WebSocketAccept.swift so the
/// fuzzers compile without swift-crypto. Not SHA-1; a stable 20-byte fold of the key
/// is enough for the handshake fuzzer, which checks both ends against the same function.
extension WebSocketHandshake {
    public static func acceptValue(forKey key: String) -> String {
        var digest = [UInt8](repeating: 0, count: 20)
        for (index, byte) in Array((key + acceptGUID).utf8).enumerated() {
            digest[index % 20] = digest[index % 20] &* 31 &+ byte
        }
        return Base64.encode(digest)
    }
}

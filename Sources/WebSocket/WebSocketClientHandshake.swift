/// The client side of the opening handshake, for bots and the load generator:
/// build the upgrade request and check the server's 101 answer.

/// Why a server's handshake response was refused.
public enum WebSocketClientHandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    case unexpectedStatus(Int, reason: String)
    case missingUpgradeHeader
    case missingConnectionUpgrade
    case acceptMismatch(expected: String, received: String?)
    case unofferedSubprotocol(String)

    public var description: String {
        switch self {
        case .unexpectedStatus(let status, let reason):
            return "server answered \(status) \(reason) instead of 101 Switching Protocols"
        case .missingUpgradeHeader:
            return "server response lacks 'Upgrade: websocket'"
        case .missingConnectionUpgrade:
            return "server response lacks 'Connection: Upgrade'"
        case .acceptMismatch(let expected, let received):
            return "Sec-WebSocket-Accept is \(received ?? "missing"), expected \(expected)"
        case .unofferedSubprotocol(let name):
            return "server chose subprotocol \(name), which the client did not offer"
        }
    }
}

extension WebSocketHandshake {
    /// A fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded.
    public static func makeClientKey<Generator: RandomNumberGenerator>(using generator: inout Generator) -> String {
        Base64.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    public static func makeClientKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return makeClientKey(using: &generator)
    }

    /// The upgrade request a client sends.
    public static func clientRequest(host: String, path: String = "/", key: String, subprotocol: String? = "stadium.v1") -> [UInt8] {
        var request = "GET \(path) HTTP/1.1\r\n"
        request += "Host: \(host)\r\n"
        request += "Upgrade: websocket\r\n"
        request += "Connection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(key)\r\n"
        request += "Sec-WebSocket-Version: \(version)\r\n"
        if let subprotocol {
            request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
        }
        request += "\r\n"
        return Array(request.utf8)
    }

    /// Checks the server's response to `clientRequest(host:path:key:subprotocol:)` and
    /// returns the subprotocol the server chose, if any.
    @discardableResult
    public static func validateServerResponse(
        _ head: HTTPResponseHead, key: String, offeredSubprotocol: String? = "stadium.v1"
    ) throws(WebSocketClientHandshakeError) -> String? {
        guard head.status == 101 else {
            throw .unexpectedStatus(head.status, reason: head.reason)
        }
        guard head.headers.contains("Upgrade", token: "websocket") else {
            throw .missingUpgradeHeader
        }
        guard head.headers.contains("Connection", token: "upgrade") else {
            throw .missingConnectionUpgrade
        }
        let expected = acceptValue(forKey: key)
        let received = head.header("Sec-WebSocket-Accept")
        guard received == expected else {
            throw .acceptMismatch(expected: expected, received: received)
        }
        guard let chosen = head.header("Sec-WebSocket-Protocol") else { return nil }
        guard chosen == offeredSubprotocol else {
            throw .unofferedSubprotocol(chosen)
        }
        return chosen
    }
}

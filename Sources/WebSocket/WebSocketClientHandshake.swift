/// The client side of the opening handshake, for bots and the load generator:
/// build the upgrade request and check the server's 101 answer.

/// Why a server's handshake response was refused.
public enum WebSocketClientHandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    case unexpectedStatus(Int, reason: String)
    case missingUpgradeHeader
    case missingConnectionUpgrade
    case acceptMismatch(expected: String, received: String?)
    case unofferedSubprotocol(String)
    /// A Sec-WebSocket-Extensions answer the client cannot use (see `PerMessageDeflate.clientAccepts`).
    case unusableExtensions(String)

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
        case .unusableExtensions(let value):
            return "server answered Sec-WebSocket-Extensions: \(value), which the client cannot use"
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
    public static func clientRequest(
        host: String, path: String = "/", key: String, subprotocol: String? = "stadium.v1", extensions: String? = nil
    ) -> [UInt8] {
        var request = "GET \(path) HTTP/1.1\r\n"
        request += "Host: \(host)\r\n"
        request += "Upgrade: websocket\r\n"
        request += "Connection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(key)\r\n"
        request += "Sec-WebSocket-Version: \(version)\r\n"
        if let subprotocol {
            request += "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
        }
        if let extensions {
            request += "Sec-WebSocket-Extensions: \(extensions)\r\n"
        }
        request += "\r\n"
        return Array(request.utf8)
    }

    /// Checks the server's response to `clientRequest(host:path:key:subprotocol:extensions:)` and
    /// returns the subprotocol the server chose, if any. `offeredDeflate`: the request offered
    /// `PerMessageDeflate.clientOffer` (whether it was agreed: `PerMessageDeflate.clientAccepts`).
    @discardableResult
    public static func validateServerResponse(
        _ head: HTTPResponseHead, key: String, offeredSubprotocol: String? = "stadium.v1", offeredDeflate: Bool = false
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
        // A client fails a connection answered with an extension it did not offer (RFC 6455 section 4.1).
        let extensions = head.headers.values("Sec-WebSocket-Extensions")
        if !extensions.isEmpty, !offeredDeflate || PerMessageDeflate.clientAccepts(extensions) == nil {
            throw .unusableExtensions(extensions.joined(separator: ", "))
        }
        guard let chosen = head.header("Sec-WebSocket-Protocol") else { return nil }
        guard chosen == offeredSubprotocol else {
            throw .unofferedSubprotocol(chosen)
        }
        return chosen
    }
}

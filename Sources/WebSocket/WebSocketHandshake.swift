/// The server side of the opening handshake (RFC 6455 section 4.2): decides whether
/// a request head is a WebSocket upgrade, a plain HTTP request, or a bad upgrade,
/// and builds the 101 response.

/// What the gateway should do with a request head.
public enum HandshakeDecision: Hashable, Sendable {
    /// Send these bytes (101 Switching Protocols), then speak WebSocket frames; `deflate` when
    /// permessage-deflate was agreed (RFC 7692, without context takeover either way).
    case upgrade(response: [UInt8], subprotocol: String?, deflate: Bool = false)
    /// No Upgrade: websocket header; route the request as plain HTTP.
    case notWebSocket
    /// A broken upgrade request: answer `WebSocketHandshake.rejectionResponse(status:reason:)` and close.
    case reject(status: Int, reason: String)
}

public enum WebSocketHandshake {
    /// The GUID that RFC 6455 appends to the key before hashing.
    public static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The only protocol version RFC 6455 defines.
    public static let version = "13"

    /// Decides how to answer `head`. The response names `subprotocol` only when the
    /// client offered it; a client that offered none (or only others) is still accepted.
    /// With `compression`, an acceptable permessage-deflate offer is agreed to.
    public static func evaluate(
        _ head: HTTPRequestHead, subprotocol: String? = "stadium.v1", compression: Bool = false
    ) -> HandshakeDecision {
        guard head.headers.contains("Upgrade", token: "websocket") else {
            return .notWebSocket
        }
        guard head.method == "GET" else {
            return .reject(status: 400, reason: "a WebSocket upgrade must use GET, not \(head.method)")
        }
        guard head.version.major == 1, head.version.minor >= 1 else {
            return .reject(status: 400, reason: "a WebSocket upgrade needs HTTP/1.1")
        }
        guard head.header("Host") != nil else {
            return .reject(status: 400, reason: "missing Host header")
        }
        guard head.headers.contains("Connection", token: "upgrade") else {
            return .reject(status: 400, reason: "Connection header does not contain 'Upgrade'")
        }
        guard let version = head.header("Sec-WebSocket-Version") else {
            return .reject(status: 400, reason: "missing Sec-WebSocket-Version header")
        }
        guard version == Self.version else {
            return .reject(status: 426, reason: "unsupported Sec-WebSocket-Version \(version); use 13")
        }
        let keys = head.headers.values("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first else {
            return .reject(status: 400, reason: "expected exactly one Sec-WebSocket-Key header")
        }
        guard Base64.isEncodedSixteenBytes(key) else {
            return .reject(status: 400, reason: "Sec-WebSocket-Key is not 16 base64-encoded bytes")
        }
        let chosen = subprotocol.flatMap { wanted in
            head.headers.tokens("Sec-WebSocket-Protocol").contains { $0 == wanted } ? wanted : nil
        }
        var deflate: PerMessageDeflate.Agreement?
        if compression {
            // RFC 6455 4.2.1: a head that breaks the rules of its fields is answered 400.
            guard let offers = ExtensionOffer.parse(head.headers.values("Sec-WebSocket-Extensions")) else {
                return .reject(status: 400, reason: "malformed Sec-WebSocket-Extensions header")
            }
            deflate = PerMessageDeflate.negotiate(offers)
        }
        let response = upgradeResponse(key: key, subprotocol: chosen, extensions: deflate?.response)
        return .upgrade(response: response, subprotocol: chosen, deflate: deflate != nil)
    }

    /// The 101 response for a validated key.
    public static func upgradeResponse(key: String, subprotocol: String?, extensions: String? = nil) -> [UInt8] {
        var response = "HTTP/1.1 101 Switching Protocols\r\n"
        response += "Upgrade: websocket\r\n"
        response += "Connection: Upgrade\r\n"
        response += "Sec-WebSocket-Accept: \(acceptValue(forKey: key))\r\n"
        if let subprotocol {
            response += "Sec-WebSocket-Protocol: \(subprotocol)\r\n"
        }
        if let extensions {
            response += "Sec-WebSocket-Extensions: \(extensions)\r\n"
        }
        response += "\r\n"
        return Array(response.utf8)
    }

    /// The response for a `.reject` decision: plain text, connection closed; a 426
    /// also names the supported version.
    public static func rejectionResponse(status: Int, reason: String) -> [UInt8] {
        var headers: [(name: String, value: String)] = [("Content-Type", "text/plain; charset=utf-8")]
        if status == 426 {
            headers.append(("Sec-WebSocket-Version", version))
        }
        return HTTPResponse.encode(status: status, headers: headers, body: Array((reason + "\n").utf8))
    }
}

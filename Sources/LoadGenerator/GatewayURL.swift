/// Where the gateway is: `ws://HOST:PORT/PATH` or `wss://...`, parsed without DNS (an IPv4 address or localhost).
public struct GatewayURL: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    public let path: String
    /// wss://: the connection is TLS.
    public let secure: Bool

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notWebSocketURL(String)
        case badPort(String)
        case notIPv4(String)

        public var description: String {
            switch self {
            case .notWebSocketURL(let text):
                return "'\(text)' is not a ws:// or wss:// URL (for example ws://127.0.0.1:8080/)"
            case .badPort(let text):
                return "'\(text)' has no valid port (1-65535)"
            case .notIPv4(let text):
                return "'\(text)' must name an IPv4 address or localhost (the load generator binds IPv4 loopback sources)"
            }
        }
    }

    public init(host: String, port: UInt16, path: String = "/", secure: Bool = false) {
        self.host = host
        self.port = port
        self.path = path
        self.secure = secure
    }

    public init(parsing text: String) throws(ParseError) {
        let secure = text.hasPrefix("wss://")
        guard secure || text.hasPrefix("ws://") else { throw .notWebSocketURL(text) }
        let rest = text.dropFirst(secure ? "wss://".count : "ws://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = Substring(authority)
        var port: UInt16 = secure ? 443 : 80
        if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let parsed = UInt16(authority[authority.index(after: colon)...]), parsed > 0 else {
                throw .badPort(text)
            }
            port = parsed
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard IPv4Address(dotted: String(host)) != nil else { throw .notIPv4(text) }
        self.init(host: String(host), port: port, path: path.isEmpty ? "/" : String(path), secure: secure)
    }

    /// The value of the Host header.
    public var hostHeader: String { "\(host):\(port)" }

    public var description: String { "\(secure ? "wss" : "ws")://\(host):\(port)\(path)" }
}

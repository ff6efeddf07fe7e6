import Foundation

/// A gateway's WebSocket URL taken apart for connecting: `ws://host:port/path?query`.
public struct GatewayURL: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// What the upgrade request asks for: the path and query, "/" at least.
    public let target: String
    public let description: String

    public init(_ text: String) throws(StadiumError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty
        else {
            throw StadiumError(.badURL, "\"\(text)\" is not a ws:// URL with a host")
        }
        guard scheme == "ws" else {
            // TLS is not built in: put a TLS-terminating proxy in front, or use ws:// inside the network.
            throw StadiumError(.badURL, "\"\(text)\": only ws:// URLs are supported (not \(scheme)://)")
        }
        let port = components.port ?? 80
        guard (1...65535).contains(port) else { throw StadiumError(.badURL, "\"\(text)\": port \(port) out of range") }
        self.host = host
        self.port = port
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        description = text
    }

    /// The Host header: the port is left out when it is the scheme's default.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }
}

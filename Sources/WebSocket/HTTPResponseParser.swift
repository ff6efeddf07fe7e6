/// Parsing of an HTTP/1.x response head, used by clients (bots, load generator) to
/// read the server's answer to the upgrade request.

/// A parsed status line and header fields.
public struct HTTPResponseHead: Hashable, Sendable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public init(version: HTTPVersion, status: Int, reason: String, headers: HTTPHeaders) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    /// The first value of a header field, name matched without regard to case.
    public func header(_ name: String) -> String? {
        headers.first(name)
    }
}

public typealias HTTPResponseParseResult = HTTPHeadParseResult<HTTPResponseHead>

public enum HTTPResponseParser {
    /// Parses the response head at the start of `bytes`; bytes after it (the first
    /// WebSocket frames) are left alone. The head comes back as owned values.
    public static func parse(_ bytes: RawSpan, maxHeaderBytes: Int = 8192) -> HTTPResponseParseResult {
        bytes.withUnsafeBytes { HTTPHeadParsing.parse($0, limit: maxHeaderBytes, parseHead) }
    }

    private static func parseHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadParsing.Failure) -> HTTPResponseHead {
        let lines = try HTTPHeadParsing.lines(bytes)
        let statusLine = lines[0]
        // "HTTP/1.1 101 Switching Protocols"; the reason phrase may be empty.
        let parts = statusLine.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else {
            throw HTTPHeadParsing.Failure(reason: "status line is not 'HTTP/x.y code reason'")
        }
        let version = try HTTPHeadParsing.version(UnsafeRawBufferPointer(rebasing: parts[0]))
        let code = parts[1]
        guard code.count == 3, code.allSatisfy(HTTPHeadParsing.isDigit) else {
            throw HTTPHeadParsing.Failure(reason: "status code is not three digits")
        }
        let status = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        let reason = parts.count > 2 ? Array(parts[2]) : []
        guard reason.allSatisfy(HTTPHeadParsing.isFieldValueByte) else {
            throw HTTPHeadParsing.Failure(reason: "control character in the reason phrase")
        }
        return HTTPResponseHead(
            version: version,
            status: status,
            reason: String(decoding: reason, as: UTF8.self),
            headers: try HTTPHeadParsing.headers(lines[1...])
        )
    }
}

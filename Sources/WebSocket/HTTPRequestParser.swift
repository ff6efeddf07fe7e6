/// Parsing of an HTTP/1.x request head: the WebSocket upgrade and plain GETs
/// (web UI, /healthz, /metrics) arrive on the same port.

/// A parsed request line and header fields.
public struct HTTPRequestHead: Hashable, Sendable {
    public var method: String
    /// The request target exactly as sent, e.g. "/ws?token=abc".
    public var target: String
    /// The target up to "?", not percent-decoded.
    public var path: String
    /// The text after "?", not decoded; nil when the target has no "?".
    public var rawQuery: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: String, target: String, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            rawQuery = String(target[target.index(after: question)...])
        } else {
            path = target
            rawQuery = nil
        }
    }

    /// The first value of a header field, name matched without regard to case.
    public func header(_ name: String) -> String? {
        headers.first(name)
    }

    /// Query parameters, percent-decoded with "+" as space; the first occurrence wins.
    public var query: [String: String] {
        var parameters: [String: String] = [:]
        for pair in (rawQuery ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(parts[0])
            let value = parts.count > 1 ? PercentDecoding.decode(parts[1]) : ""
            if parameters[name] == nil {
                parameters[name] = value
            }
        }
        return parameters
    }

    /// One query parameter, decoded; nil when absent.
    public func queryValue(_ name: String) -> String? {
        query[name]
    }
}

public typealias HTTPParseResult = HTTPHeadParseResult<HTTPRequestHead>

public enum HTTPRequestParser {
    /// Parses the request head at the start of `bytes`. Bytes after the head
    /// (a pipelined request or early WebSocket frames) are left alone. The head comes back
    /// as owned values: nothing of the borrowed `bytes` outlives the call.
    public static func parse(_ bytes: RawSpan, maxHeaderBytes: Int = 8192) -> HTTPParseResult {
        bytes.withUnsafeBytes { HTTPHeadParsing.parse($0, limit: maxHeaderBytes, parseHead) }
    }

    private static func parseHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPHeadParsing.Failure) -> HTTPRequestHead {
        let lines = try HTTPHeadParsing.lines(bytes)
        let requestLine = lines[0]
        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw HTTPHeadParsing.Failure(reason: "request line is not 'METHOD target HTTP/x.y'")
        }
        let method = parts[0]
        guard !method.isEmpty, method.allSatisfy(HTTPHeadParsing.isTokenByte) else {
            throw HTTPHeadParsing.Failure(reason: "invalid method")
        }
        let target = parts[1]
        guard !target.isEmpty, target.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw HTTPHeadParsing.Failure(reason: "invalid request target")
        }
        let version = try HTTPHeadParsing.version(UnsafeRawBufferPointer(rebasing: parts[2]))
        guard version.major == 1 else {
            throw HTTPHeadParsing.Failure(reason: "unsupported version \(version)")
        }
        let headers = try HTTPHeadParsing.headers(lines[1...])
        return HTTPRequestHead(
            method: String(decoding: method, as: UTF8.self),
            target: String(decoding: target, as: UTF8.self),
            version: version,
            headers: headers
        )
    }
}

/// Decoding of query components: "%41" and "+" as space; malformed escapes stay literal.
enum PercentDecoding {
    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            let byte = source[index]
            if byte == UInt8(ascii: "%"), index + 2 < source.count,
                let high = hexValue(source[index + 1]), let low = hexValue(source[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}

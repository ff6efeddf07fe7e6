/// Encoding of small, complete HTTP/1.1 responses: handshake rejections, health
/// checks, metrics and static files served on the WebSocket port.
public enum HTTPResponse {
    /// Status line, the given headers, Content-Length and, unless `keepAlive`,
    /// "Connection: close"; then the body. `reason` defaults to the standard phrase.
    public static func encode(
        status: Int,
        reason: String? = nil,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        keepAlive: Bool = false
    ) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason ?? reasonPhrase(for: status))\r\n"
        for (name, value) in headers {
            head += "\(name): \(value)\r\n"
        }
        // 1xx, 204 and 304 responses never carry a body or a length.
        let mayHaveBody = status >= 200 && status != 204 && status != 304
        if mayHaveBody {
            head += "Content-Length: \(body.count)\r\n"
        }
        if !keepAlive {
            head += "Connection: close\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + (mayHaveBody ? body : [])
    }

    /// A plain-text response, e.g. the body of a 400 explaining what was wrong.
    public static func text(status: Int, _ message: String, keepAlive: Bool = false) -> [UInt8] {
        encode(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")],
            body: Array((message + "\n").utf8),
            keepAlive: keepAlive
        )
    }

    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 413: return "Content Too Large"
        case 426: return "Upgrade Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status \(status)"
        }
    }
}

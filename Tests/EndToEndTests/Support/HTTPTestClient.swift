// Plain HTTP/1.1 against the gateway: one request per connection, the response read until
// the gateway closes (it always answers with Connection: close).
import WebSocket

struct HTTPTestResponse: CustomStringConvertible {
    let head: HTTPResponseHead
    let body: String

    var status: Int { head.status }

    func header(_ name: String) -> String? { head.header(name) }

    var description: String { "\(head.status) \(head.reason): \(body)" }
}

enum HTTPTestClientError: Error, CustomStringConvertible {
    case noResponse(received: Int)
    case malformed(String)

    var description: String {
        switch self {
        case .noResponse(let received): return "the gateway closed after \(received) bytes without a complete response head"
        case .malformed(let reason): return "malformed HTTP response: \(reason)"
        }
    }
}

enum HTTPTestClient {
    /// `GET path` (or another method) on 127.0.0.1:`port`.
    static func request(port: UInt16, method: String = "GET", path: String) throws -> HTTPTestResponse {
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n"
        return try exchange(port: port, rawRequest: Array(request.utf8))
    }

    /// Sends `rawRequest` exactly as given and reads the response until the gateway closes.
    static func exchange(port: UInt16, rawRequest: [UInt8]) throws -> HTTPTestResponse {
        let socket = try TestSocket(port: port)
        try socket.send(rawRequest)
        return try readResponse(from: socket)
    }

    /// The response on an already open connection, read until the gateway closes it.
    static func readResponse(from socket: TestSocket) throws -> HTTPTestResponse {
        let bytes = try socket.receiveUntilClosed()
        let parsed = HTTPResponseParser.parse(bytes.span.bytes)
        switch parsed {
        case .complete(let head, let consumed):
            return HTTPTestResponse(head: head, body: String(decoding: bytes[consumed...], as: UTF8.self))
        case .incomplete:
            throw HTTPTestClientError.noResponse(received: bytes.count)
        case .tooLarge:
            throw HTTPTestClientError.malformed("head over 8 KiB")
        case .malformed(let reason):
            throw HTTPTestClientError.malformed(reason)
        }
    }
}

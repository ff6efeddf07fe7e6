import Foundation
import Glibc
import Logging

/// A minimal HTTP/1.0 listener for Prometheus scrapes: `GET /metrics` answers the text
/// exposition, anything else 404; one connection at a time, closed after each reply.
/// Plain blocking sockets on a thread of its own: a scrape every few seconds needs no more.
public final class MetricsListener: @unchecked Sendable {
    public struct Address {
        public let host: String
        public let port: UInt16

        public init(parsing text: String) throws {
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
                  inet_addr(String(text[..<colon])) != INADDR_NONE
            else { throw ProcessorError.invalidListenAddress(text) }
            host = String(text[..<colon])
            self.port = port
        }
    }

    private let socket: Int32
    private let thread: Thread

    public init(address: Address, logger: Logger, render: @escaping @Sendable () -> [UInt8]) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var enable: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = address.port.bigEndian
        socketAddress.sin_addr.s_addr = inet_addr(address.host)
        // bind takes the generic sockaddr view of the IPv4 address.
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socket, 16) == 0 else {
            let failure = errno
            close(socket)
            throw ProcessorError.listenFailed(address: "\(address.host):\(address.port)", errno: failure)
        }
        self.socket = socket
        thread = Thread {
            Self.serve(socket: socket, logger: logger, render: render)
        }
        thread.name = "metrics-http"
        thread.start()
    }

    public func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }

    private static func serve(socket: Int32, logger: Logger, render: () -> [UInt8]) {
        var request = [UInt8](repeating: 0, count: 2048)
        while true {
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let count = read(connection, &request, request.count)
            let head = count > 0 ? String(decoding: request[..<count], as: UTF8.self) : ""
            let found = head.hasPrefix("GET /metrics ") || head.hasPrefix("GET /metrics?")
            let body = found ? render() : Array("not found\n".utf8)
            var reply = Array((found
                ? "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                : "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n").utf8)
            reply += Array("Content-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
            var sent = 0
            while sent < reply.count {
                let written = reply[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
                if written <= 0 { break }
                sent += written
            }
            close(connection)
        }
    }
}

// A small HTTP/1.x listener for scrapes (the processors' /metrics): plain sockets and poll()
// on a thread of its own, apart from the rings, for a few requests a minute.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Answers `GET` for a fixed set of paths, one request per connection, then closes it: 200 with
/// the route's body, 404 for another path, 405 for another method, 400 for anything that is not
/// an HTTP/1.x request head. Connections are served side by side and each has `requestTimeout`
/// from accept to its last byte sent, so a slow or silent client cannot hold up a scrape.
/// Serves until `stop`.
public final class HTTPGetListener: @unchecked Sendable {
    public struct Route: Sendable {
        public let contentType: String
        public let body: @Sendable () -> [UInt8]

        public init(contentType: String, body: @escaping @Sendable () -> [UInt8]) {
            self.contentType = contentType
            self.body = body
        }
    }

    /// The bound address (the real port when port 0 was asked).
    public var address: SocketAddress { listener.address }

    private let listener: Listener
    private let routes: [String: Route]
    private let requestTimeoutMs: Int64
    private let maxConnections: Int
    /// A pipe written once by `stop` to wake the serving thread's poll: (read end, write end).
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    static let maxHeadBytes = 8192

    public init(
        address: SocketAddress, routes: [String: Route], requestTimeout: Duration = .seconds(5), maxConnections: Int = 16
    ) throws(SystemError) {
        let listener = try Listener(address: address, backlog: 64)
        try syscall("fcntl(O_NONBLOCK)") { fcntl(listener.descriptor, F_SETFL, O_NONBLOCK) }
        self.listener = listener
        var ends: [Int32] = [0, 0]
        try syscall("pipe") { pipe(&ends) }
        wake = (ends[0], ends[1])
        self.routes = routes
        let (seconds, attoseconds) = requestTimeout.components
        requestTimeoutMs = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        self.maxConnections = max(1, maxConnections)
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "http-listener"
        thread.start()
    }

    /// Closes the listener and every open connection; returns once the serving thread ended.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
        finished.wait()
        close(wake.read)
        close(wake.write)
    }

    // MARK: - Serving thread

    private struct Connection {
        let descriptor: Int32
        let deadlineMs: Int64
        var received: [UInt8] = []
        /// The response once the head is read; `sent` bytes of it are out.
        var response: [UInt8]?
        var sent = 0
    }

    private func serve() {
        var connections: [Connection] = []
        defer { for connection in connections { close(connection.descriptor) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var polled = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            // At the limit the listener is not polled: new clients wait in the backlog.
            polled.append(pollfd(fd: connections.count < maxConnections ? listener.descriptor : -1, events: Int16(POLLIN), revents: 0))
            for connection in connections {
                let events = connection.response == nil ? POLLIN : POLLOUT
                polled.append(pollfd(fd: connection.descriptor, events: Int16(events), revents: 0))
            }
            let now = Self.nowMs()
            let nextDeadline = connections.map(\.deadlineMs).min()
            let timeout = nextDeadline.map { Int32(clamping: max(0, $0 - now)) } ?? -1
            let ready = poll(&polled, nfds_t(polled.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if polled[0].revents != 0 { return }
            var index = connections.count - 1
            while index >= 0 {
                let revents = polled[index + 2].revents
                if revents != 0 && !advance(&connections[index], revents: revents, buffer: &buffer)
                    || Self.nowMs() >= connections[index].deadlineMs
                {
                    close(connections[index].descriptor)
                    connections.remove(at: index)
                }
                index -= 1
            }
            if polled[1].revents != 0 { acceptAll(into: &connections) }
        }
    }

    private func acceptAll(into connections: inout [Connection]) {
        while connections.count < maxConnections {
            let descriptor = accept(listener.descriptor, nil, nil)
            guard descriptor >= 0 else { return }
            _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
            connections.append(Connection(descriptor: descriptor, deadlineMs: Self.nowMs() + requestTimeoutMs))
        }
    }

    /// Reads or writes what the socket is ready for; false once the connection is done with.
    private func advance(_ connection: inout Connection, revents: Int16, buffer: inout [UInt8]) -> Bool {
        if connection.response == nil {
            let count = buffer.withUnsafeMutableBytes { read(connection.descriptor, $0.baseAddress, $0.count) }
            if count < 0 { return errno == EAGAIN || errno == EINTR }
            // A client that closes before its head is complete gets nothing.
            if count == 0 { return false }
            connection.received += buffer[..<count]
            guard let response = respond(to: connection.received) else { return true }
            connection.response = response
        }
        guard let response = connection.response, revents & Int16(POLLIN | POLLOUT | POLLHUP | POLLERR) != 0 else { return true }
        let written = response[connection.sent...].withUnsafeBytes { write(connection.descriptor, $0.baseAddress, $0.count) }
        if written < 0 { return errno == EAGAIN || errno == EINTR }
        connection.sent += written
        return connection.sent < response.count
    }

    /// The response to a complete request head, or nil while more bytes may complete it.
    func respond(to received: [UInt8]) -> [UInt8]? {
        let end = Self.headEnd(received)
        guard end != nil || received.count >= Self.maxHeadBytes else { return nil }
        guard let end, let line = Self.requestLine(received[..<end]) else {
            return Self.response(status: "400 Bad Request", contentType: "text/plain", body: Array("bad request\n".utf8))
        }
        guard line.method == "GET" else {
            return Self.response(
                status: "405 Method Not Allowed", contentType: "text/plain", body: Array("method not allowed\n".utf8),
                extraHeaders: "Allow: GET\r\n")
        }
        guard let route = routes[line.path] else {
            return Self.response(status: "404 Not Found", contentType: "text/plain", body: Array("not found\n".utf8))
        }
        return Self.response(status: "200 OK", contentType: route.contentType, body: route.body())
    }

    /// The offset just past the blank line that ends a head.
    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        for start in 0...(bytes.count - 4) where bytes[start..<start + 4].elementsEqual(terminator) {
            return start + 4
        }
        return nil
    }

    /// `METHOD SP target SP HTTP/1.x`; the target's query is dropped.
    private static func requestLine(_ head: ArraySlice<UInt8>) -> (method: String, path: String)? {
        guard let lineEnd = head.firstIndex(of: 13) else { return nil }
        let parts = head[..<lineEnd].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == UInt8(ascii: "/"),
              parts[2].elementsEqual("HTTP/1.1".utf8) || parts[2].elementsEqual("HTTP/1.0".utf8),
              parts[0].allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { return nil }
        let target = parts[1]
        let path = target.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target
        return (String(decoding: parts[0], as: UTF8.self), String(decoding: path, as: UTF8.self))
    }

    private static func response(status: String, contentType: String, body: [UInt8], extraHeaders: String = "") -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + extraHeaders + "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    private static func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

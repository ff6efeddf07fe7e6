import Foundation
import Testing
import UringIO

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HTTPGetListenerTests {
    private func listener(timeout: Duration = .seconds(5)) throws -> HTTPGetListener {
        try HTTPGetListener(
            address: SocketAddress(host: "127.0.0.1", port: 0),
            routes: ["/metrics": .init(contentType: "text/plain; version=0.0.4") { Array("up 1\n".utf8) }],
            requestTimeout: timeout)
    }

    /// Everything the server sends until it closes the connection.
    private func readToEnd(_ descriptor: Int32) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            received += buffer[..<count]
        }
        close(descriptor)
        return String(decoding: received, as: UTF8.self)
    }

    private func request(_ port: UInt16, _ text: String) throws -> String {
        let descriptor = try BlockingClient.connect(port)
        BlockingClient.send(descriptor, text)
        return readToEnd(descriptor)
    }

    @Test func getMetricsAnswersTheRoutesBody() throws {
        let server = try listener()
        defer { server.stop() }
        let reply = try request(server.address.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(reply.contains("Content-Type: text/plain; version=0.0.4\r\n"))
        #expect(reply.contains("Content-Length: 5\r\n"))
        #expect(reply.hasSuffix("\r\n\r\nup 1\n"))
        #expect(try request(server.address.port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").hasSuffix("up 1\n"))
    }

    @Test func anotherPathIsNotFoundAndAnotherMethodNotAllowed() throws {
        let server = try listener()
        defer { server.stop() }
        #expect(try request(server.address.port, "GET /other HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        let post = try request(server.address.port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(post.contains("Allow: GET\r\n"))
    }

    @Test func aBadOrOversizedHeadIsRefusedAndClosed() throws {
        let server = try listener()
        defer { server.stop() }
        #expect(try request(server.address.port, "hello\r\n\r\n").hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(try request(server.address.port, "GET /metrics SPDY/3\r\n\r\n").hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        let endless = "GET /metrics HTTP/1.1\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 500)
        #expect(try request(server.address.port, endless).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }

    @Test func aSilentClientDoesNotHoldUpAScrape() throws {
        let server = try listener()
        defer { server.stop() }
        let silent = try BlockingClient.connect(server.address.port)
        defer { close(silent) }
        #expect(try request(server.address.port, "GET /metrics HTTP/1.1\r\n\r\n").hasSuffix("up 1\n"))
    }

    @Test func aSilentClientIsClosedAtTheRequestTimeout() throws {
        let server = try listener(timeout: .milliseconds(100))
        defer { server.stop() }
        let silent = try BlockingClient.connect(server.address.port)
        let started = ContinuousClock.now
        #expect(readToEnd(silent) == "", "closed without a response")
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}

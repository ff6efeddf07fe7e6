// A blocking loopback TCP connection with a receive timeout, so that no test can hang on a
// gateway that stays silent.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum TestSocketError: Error, CustomStringConvertible {
    case system(call: String, errno: Int32)
    case timedOut(waitingFor: String)
    case closedByPeer(waitingFor: String)

    var description: String {
        switch self {
        case .system(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .timedOut(let what):
            return "timed out waiting for \(what)"
        case .closedByPeer(let what):
            return "the gateway closed the connection while we waited for \(what)"
        }
    }
}

/// What one `receive` call saw.
enum ReceiveResult {
    case bytes([UInt8])
    /// The peer closed its side (recv returned 0).
    case endOfStream
    /// Nothing arrived within the receive timeout.
    case timedOut
}

final class TestSocket {
    /// The longest a single recv may block; waits longer than this loop until their own deadline.
    static let receiveTimeout: Duration = .milliseconds(500)

    private var descriptor: Int32

    /// Connects to 127.0.0.1:`port`, from `source` (a loopback address, host order) when given.
    init(port: UInt16, source: UInt32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSocketError.system(call: "socket", errno: errno) }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = source.bigEndian
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let code = errno
                close(descriptor)
                throw TestSocketError.system(call: "bind", errno: code)
            }
        }
        var timeout = timeval(tv_sec: 0, tv_usec: Int(Self.receiveTimeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw TestSocketError.system(call: "connect to 127.0.0.1:\(port)", errno: code)
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw TestSocketError.system(call: "send", errno: errno)
            }
            offset += sent
        }
    }

    /// One recv of up to `limit` bytes, bounded by the receive timeout.
    func receive(limit: Int = 65536) throws -> ReceiveResult {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 { return .bytes(Array(buffer[..<count])) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .timedOut
            case let code: throw TestSocketError.system(call: "recv", errno: code)
            }
        }
    }

    /// Everything until the peer closes, within `timeout`.
    func receiveUntilClosed(timeout: Duration = .seconds(10)) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        while ContinuousClock.now < deadline {
            switch try receive() {
            case .bytes(let bytes): received += bytes
            case .endOfStream: return received
            case .timedOut: continue
            }
        }
        throw TestSocketError.timedOut(waitingFor: "the gateway to close the connection")
    }
}

// Listening and connecting sockets: the only ordinary descriptors the rings use.
#if canImport(Glibc)
import Glibc
#endif

/// "127.0.0.1:8080", "[::1]:8080" or "localhost:8080", resolved without DNS.
public struct SocketAddress: CustomStringConvertible, Sendable {
    public let host: String
    public let port: UInt16

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case .malformed(let text):
                return "'\(text)' is not HOST:PORT (for example 127.0.0.1:8080 or [::1]:8080)"
            }
        }
    }

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(ParseError) {
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .malformed(text)
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .malformed(text) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard let port = UInt16(portPart), !hostPart.isEmpty else { throw .malformed(text) }
        self.init(host: String(hostPart), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var isIPv6: Bool { host.contains(":") }

    /// Calls `body` with the sockaddr form of this address.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R) throws(SystemError) -> R {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                throw SystemError(call: "inet_pton(\(host))", errno: EINVAL)
            }
            return try withUnsafePointer(to: &address) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) in
                    try body(raw, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw SystemError(call: "inet_pton(\(host))", errno: EINVAL)
        }
        return try withUnsafePointer(to: &address) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) in
                try body(raw, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

/// A listening TCP socket shared by every ring (each arms its own accepts on it).
public final class Listener: @unchecked Sendable {
    public let descriptor: Int32
    public let address: SocketAddress

    /// - Parameter sendBufferBytes: SO_SNDBUF for every accepted socket (they inherit it from
    ///   the listener); nil keeps the kernel's autotuning, which lets a socket buffer up to
    ///   `net.ipv4.tcp_wmem`'s maximum (4 MiB by default) before the sender sees anything.
    public init(address: SocketAddress, backlog: Int32 = 4096, sendBufferBytes: Int? = nil) throws(SystemError) {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = try syscall("socket") { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        do {
            if let sendBufferBytes {
                var bytes = Int32(clamping: sendBufferBytes)
                try syscall("setsockopt(SO_SNDBUF)") {
                    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            try address.withSockAddr { pointer, length throws(SystemError) in
                try syscall("bind(\(address))") { bind(fd, pointer, length) }
            }
            try syscall("listen") { listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
        self.address = SocketAddress(host: address.host, port: Listener.boundPort(fd) ?? address.port)
    }

    deinit {
        close(descriptor)
    }

    /// The port the kernel picked when asked for port 0.
    private static func boundPort(_ fd: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}

/// The highest number of descriptors this process may hold, raised to the hard limit first.
public func raiseDescriptorLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(min(limit.rlim_cur, 1 << 20))
}

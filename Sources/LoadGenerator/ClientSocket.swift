// The ordinary-descriptor side of a client connection: socket, explicit bind, blocking connect.
// The connected descriptor is then adopted into a ring and closed here.
import UringIO
#if canImport(Glibc)
import Glibc
#endif

enum ClientSocket {
    /// A connected TCP socket to `gateway`, bound first to `source` when given (so the kernel's
    /// slow port search is skipped). Blocks at most `timeoutMilliseconds` on loopback.
    static func connect(
        to gateway: SocketAddressV4, from source: SourceEndpoint?, timeoutMilliseconds: Int
    ) throws(SystemError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        do throws(SystemError) {
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if let source {
                // A source port left in TIME_WAIT by an earlier run may be bound again.
                _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                var local = socketAddress(ipv4: source.address, port: source.port)
                try call("bind(\(source))") {
                    withUnsafePointer(to: &local) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                }
            }
            // A blocking connect waits at most SO_SNDTIMEO; reset afterwards so ring sends never wait.
            var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var remote = socketAddress(ipv4: gateway.address, port: gateway.port)
            try call("connect(\(gateway))") {
                withUnsafePointer(to: &remote) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            var none = timeval(tv_sec: 0, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    private static func call(_ name: String, _ body: () -> Int32) throws(SystemError) {
        while true {
            if body() == 0 { return }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(call: name, errno: code)
        }
    }

    private static func socketAddress(ipv4 address: IPv4Address, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr = in_addr(s_addr: address.value.bigEndian)
        return result
    }
}

/// An IPv4 destination: the gateway.
public struct SocketAddressV4: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let port: UInt16

    public init(address: IPv4Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address):\(port)" }
}

/// Why a connect attempt failed, in the words a user can act on.
enum ConnectFailure {
    /// The source endpoint is taken: try the next one.
    case endpointBusy
    /// The gateway is not there or too slow: back off and retry.
    case gatewayUnavailable
    /// Descriptors or memory ran out.
    case resources

    init(_ error: SystemError) {
        switch error.errno {
        case EADDRINUSE, EADDRNOTAVAIL: self = .endpointBusy
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: self = .resources
        default: self = .gatewayUnavailable
        }
    }
}

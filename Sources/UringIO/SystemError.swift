// Every failed system or io_uring call becomes one typed error carrying errno and the call's name.
#if canImport(Glibc)
import Glibc
#endif

public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// io_uring helpers return -errno; this turns such a result into an error.
    static func check(_ result: Int32, _ call: String) throws(SystemError) {
        if result < 0 { throw SystemError(call: call, errno: -result) }
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Retries a libc call while it fails with EINTR; other failures become a SystemError.
@discardableResult
func syscall(_ call: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemError(call: call, errno: code)
    }
}

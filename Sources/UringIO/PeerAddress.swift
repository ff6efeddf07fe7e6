// The remote end of an accepted connection, without its port: what per-address limits count.
#if canImport(Glibc)
import Glibc
#endif

public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address as 16 bytes in network order; IPv4 as ::ffff:a.b.c.d so both share one key space.
    public let high: UInt64
    public let low: UInt64

    public init(ipv4 hostOrder: UInt32) {
        high = 0
        low = 0xFFFF_0000_0000 | UInt64(hostOrder)
    }

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Bytes of a sockaddr_in or sockaddr_in6 as the kernel wrote them; nil for other families.
    public init?(sockaddr bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= MemoryLayout<sockaddr_in>.size else { return nil }
        let family = Int32(bytes.load(as: sa_family_t.self))
        if family == AF_INET {
            let address = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            self.init(ipv4: UInt32(bigEndian: address))
        } else if family == AF_INET6, bytes.count >= MemoryLayout<sockaddr_in6>.size {
            self.init(high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                      low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0xFFFF }

    public var description: String {
        if isIPv4 {
            return (0..<4).map { String((low >> (24 - 8 * UInt64($0))) & 0xFF) }.joined(separator: ".")
        }
        let groups = (0..<8).map { index -> String in
            let word = index < 4 ? high : low
            return String((word >> (48 - 16 * UInt64(index % 4))) & 0xFFFF, radix: 16)
        }
        return groups.joined(separator: ":")
    }
}

/// A local address and port a connection binds before it connects.
public struct SourceEndpoint: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let port: UInt16

    public init(address: IPv4Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address):\(port)" }
}

/// Hands out distinct source endpoints over 127.0.0.0/8: every port of the range on one
/// address, then the next address. Skips 127.0.0.1 (where gateways listen) and host parts
/// ending in .0 or .255; after 127.255.255.254 it starts over at the first address.
public struct SourceEndpointAllocator: Sendable {
    public static let firstAddress = IPv4Address(127, 0, 0, 2)
    public static let lastAddress = IPv4Address(127, 255, 255, 254)

    public let ports: ClosedRange<UInt16>
    private var address: IPv4Address
    private var port: UInt16

    /// Endpoints handed out so far.
    public private(set) var allocated = 0

    public init(firstAddress: IPv4Address = SourceEndpointAllocator.firstAddress, ports: ClosedRange<UInt16> = 10_000...65_535) {
        precondition(firstAddress.octets.0 == 127, "source addresses must lie in 127.0.0.0/8")
        self.ports = ports
        self.address = Self.usable(firstAddress) ? firstAddress : Self.following(firstAddress)
        self.port = ports.lowerBound
    }

    /// Source endpoints that exist before the sequence repeats.
    public var capacity: Int {
        // 256 * 256 blocks of 254 usable last octets, minus 127.0.0.1.
        let addresses = 256 * 256 * 254 - 1
        return addresses * ports.count
    }

    public mutating func next() -> SourceEndpoint {
        let endpoint = SourceEndpoint(address: address, port: port)
        allocated += 1
        if port == ports.upperBound {
            port = ports.lowerBound
            address = Self.following(address)
        } else {
            port += 1
        }
        return endpoint
    }

    /// Whether connections may use this address as their source.
    public static func usable(_ address: IPv4Address) -> Bool {
        let (a, _, _, d) = address.octets
        return a == 127 && d != 0 && d != 255 && address != IPv4Address(127, 0, 0, 1)
    }

    static func following(_ address: IPv4Address) -> IPv4Address {
        var candidate = address
        repeat {
            candidate = candidate >= lastAddress ? firstAddress : IPv4Address(candidate.value + 1)
        } while !usable(candidate)
        return candidate
    }
}

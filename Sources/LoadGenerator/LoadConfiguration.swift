import StadiumTLS

/// Everything a run needs, filled in by the `stadium-load` command line.
public enum LoadMode: Sendable {
    /// Bots that play the quiz (the default, and `--mode players` at scale).
    case players(BotSettings)
    /// Connect, subscribe, hold.
    case idle(subjects: [String])
    /// Timed, loss-counted delivery of published probes.
    case fanout(FanoutSettings)

    public var name: String {
        switch self {
        case .players: return "players"
        case .idle: return "idle"
        case .fanout: return "fanout"
        }
    }
}

public struct LoadConfiguration: Sendable {
    /// Where every connection goes first.
    public var gateway: GatewayURL
    /// Tried in turn after `gateway` when a connection is lost (failover), back to `gateway` after the last.
    public var fallbackGateways: [GatewayURL] = []
    public var mode: LoadMode
    public var connections: Int
    /// Connects per second; 0 means as fast as the connector can.
    public var rate: Double
    /// Bind each connection's source address and port (over 127.0.0.0/8); nil decides by count.
    public var bindSources: Bool?
    public var firstSource: IPv4Address = SourceEndpointAllocator.firstAddress
    /// Outside the kernel's ephemeral range, so other clients on the host keep their ports.
    public var sourcePorts: ClosedRange<UInt16> = SourcePortRange.forThisHost(fallback: 10_000...65_535)
    public var connectTimeoutMilliseconds = 3_000
    /// A gateway that has not answered the upgrade by then is dropped and retried.
    public var handshakeTimeoutMicroseconds: Int64 = 30_000_000
    public var progressIntervalSeconds: Double = 5
    /// Stop after this long; nil runs until stopped (fan-out also ends once its probes drained).
    public var duration: Duration?
    /// After the last fan-out probe, or players' last answers after --duration: how long
    /// deliveries may pause before what is still missing counts as lost.
    public var drainMilliseconds: Int64 = 5_000
    /// Bytes of each of a ring's provided receive buffers (the ring loop's default is 4 KB).
    public var receiveBufferBytes = 4096
    /// Slots per ring; nil means the descriptor limit less a reserve.
    public var slotsPerRing: Int?
    /// What the run may lose, duplicate or fail and still pass (exit status 0).
    public var tolerances = Tolerances()
    /// wss://: every connection is TLS, the gateway verified by this client context against the
    /// URL's host (one context, so the CA file is read once); nil: plain ws://.
    public var tls: TLSContext?
    /// Bots offer permessage-deflate (as browsers do) and inflate compressed messages.
    public var compression = false

    public init(gateway: GatewayURL, mode: LoadMode, connections: Int, rate: Double) {
        self.gateway = gateway
        self.mode = mode
        self.connections = connections
        self.rate = rate
    }

    /// Every gateway in the order a connection that keeps losing its gateway tries them.
    public var gateways: [GatewayURL] { [gateway] + fallbackGateways }

    /// Explicit binds only pay off past a few hundred connections, and need a loopback gateway.
    public var bindsSources: Bool {
        let loopback = gateways.allSatisfy { IPv4Address(dotted: $0.host).map { $0.octets.0 == 127 } ?? false }
        return loopback && (bindSources ?? (connections > 1000))
    }

    /// rings = ceil(connections / slots per ring).
    public static func ringCount(connections: Int, slotsPerRing: Int) -> Int {
        max(1, (connections + slotsPerRing - 1) / slotsPerRing)
    }

    /// How many of the connections land on ring `ring` (connection c lives on ring c % rings).
    public static func connections(onRing ring: Int, of rings: Int, total: Int) -> Int {
        total > ring ? (total - ring + rings - 1) / rings : 0
    }
}

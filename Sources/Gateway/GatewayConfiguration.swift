// Everything a gateway needs to know at start, with the defaults of the design.
import KafkaClient
import StadiumTLS
import UringIO

public struct GatewayConfiguration: Sendable {
    public var listen: SocketAddress
    /// Connections the gateway must be able to hold; decides how many rings it runs.
    public var maxConnections: Int = 100_000
    public var maxMessageBytes: Int = 64 * 1024
    public var maxHeaderBytes: Int = 8 * 1024
    public var handshakeTimeout: Duration = .seconds(10)
    /// Frames and bytes one connection may have queued. Live messages use the first half; a
    /// subscription that finds it taken reads on from its subject's history as the socket
    /// drains, so a burst costs a position, not a queue entry per message. The rest is for
    /// replies: a client whose replies overflow it is closed (1008).
    public var sendQueueFrames: Int = 32
    public var sendQueueBytes: Int = 1 << 20
    /// How far behind a connection may fall before it is closed (1008): the bytes it has not
    /// been sent yet, and the age of the oldest message it has not been sent. Picked for a
    /// phone on a mobile network: a tunnel stalls it for tens of seconds, not minutes.
    public var maxLagBytes: Int = 32 << 20
    public var maxLagDuration: Duration = .seconds(60)
    /// Kernel send buffer per connection (SO_SNDBUF); nil: the kernel's autotuning. A small one
    /// makes a reader that stopped show up in the send queue sooner, and bounds kernel memory.
    public var socketSendBufferBytes: Int?
    public var maxSubscriptionsPerConnection: Int = 64
    public var auth: AuthMode = .none
    /// Seconds before a token's `exp` at which the connection is warned (`token_expiring`).
    public var tokenExpiryWarning: Duration = .seconds(30)
    /// Pubs per second per connection, and how many may come at once; nil: unlimited.
    public var publishRate: Double? = 50
    public var publishBurst: Double = 100
    /// Connections one source address may hold at once; nil: unlimited (the default: players
    /// behind one NAT share an address).
    public var maxConnectionsPerAddress: Int?
    /// A connection silent this long is pinged; silent as long again, it is closed. nil: never.
    public var idleTimeout: Duration? = .seconds(300)
    /// Recent messages kept per subject for subscribers that come back with `since`.
    public var history = HistoryLimits()
    /// Subjects nobody here subscribes to whose latest message and history are kept at most
    /// (a gateway of a cluster sees every player's records); older ones are forgotten, and a
    /// client resuming one gets it back from Kafka.
    public var maxIdleSubjects: Int = GatewayConfiguration.defaultMaxIdleSubjects
    public static let defaultMaxIdleSubjects = 16_384
    /// Directory of the web UI served at `/`; nil serves none.
    public var webRoot: String?
    /// I/O threads (default: one per core); each runs the rings its share of connections needs.
    public var ioThreads: Int?
    /// Kafka both ways; nil routes pubs straight to local subscribers.
    public var kafka: KafkaBridgeConfiguration?
    /// Certificate chain and key: every connection on `listen` is TLS (https, wss); nil: plaintext.
    public var tls: TLSServerFiles?
    /// permessage-deflate (RFC 7692) for clients that offer it: a message is compressed once, when
    /// the first of them is sent it, for all of them; their compressed messages are inflated.
    public var compression = true

    public init(listen: SocketAddress) {
        self.listen = listen
    }
}

/// How the connections are spread: one I/O thread per core (or `--io-threads`), each running as
/// many rings as its share of connections needs, because a ring's file table holds at most
/// RLIMIT_NOFILE direct descriptors. Threads follow cores, rings follow descriptors.
public struct RingPlan: Equatable, Sendable {
    public let threads: Int
    public let ringsPerThread: Int
    public let slotsPerRing: Int

    public init(maxConnections: Int, descriptorLimit: Int, cores: Int, threads override: Int? = nil) {
        let slotsLimit = max(128, descriptorLimit)
        let threads = max(1, override ?? cores)
        let perThread = (max(1, maxConnections) + threads - 1) / threads
        // A ring stops accepting a few slots before its table is full: count on the rest only.
        let usable = slotsLimit - RingPlan.acceptHeadroom
        let ringsPerThread = (perThread + usable - 1) / usable
        self.threads = threads
        self.ringsPerThread = ringsPerThread
        self.slotsPerRing = min(slotsLimit, (perThread + ringsPerThread - 1) / ringsPerThread + RingPlan.acceptHeadroom)
    }

    /// More than the ring's own accept reserve, so every ring can take its share of connections.
    static let acceptHeadroom = 64

    public var rings: Int { threads * ringsPerThread }
    public var slotsPerThread: Int { ringsPerThread * slotsPerRing }

    /// Connections the plan can hold for sure.
    public var capacity: Int {
        rings * (slotsPerRing - RingPlan.acceptHeadroom)
    }
}

public struct KafkaBridgeConfiguration: Sendable {
    /// librdkafka properties: at least bootstrap.servers, plus anything from --kafka-config.
    public var config: KafkaConfig
    /// Topics fanned out to subscribers.
    public var topics: [String] = ["question", "result", "top"]
    /// Records replayed per partition at start to rebuild each subject's latest message.
    public var replayLast: Int64 = 100
    /// Topics clients publish to, for per-topic metrics.
    public var producedTopics: [String] = ["answer", "gettop"]
    /// How long a pub may wait for Kafka's acknowledgement before the client gets `timeout`.
    public var acknowledgementTimeout: Duration = .seconds(10)
    /// How producers chose the partition of a keyed record (to find a resuming subject's records).
    public var partitioner: KeyPartitioner = .crc32
    /// Offsets of one partition read back at most for one resuming subject; older ones are a gap.
    public var recoveryMaxRecords: Int64 = 100_000

    public init(config: KafkaConfig) {
        self.config = config
    }
}

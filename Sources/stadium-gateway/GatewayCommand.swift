// stadium-gateway: arguments in, a running gateway out, stopped cleanly on SIGINT/SIGTERM;
// SIGHUP reloads the TLS certificates.
import ArgumentParser
import Foundation
import Gateway
import KafkaClient
import Logging
import ServiceLifecycle
import StadiumCommandLine
import StadiumTLS
import UringIO

#if canImport(Glibc)
import Glibc
#endif

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stadium-gateway",
        abstract: "WebSocket gateway (protocol v1, subprotocol stadium.v1) on io_uring.",
        version: StadiumVersion.current)

    @Option(help: "Address to listen on, HOST:PORT (also serves /healthz, /metrics and the web UI).")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "PEM certificate chain (leaf first): with --tls-key, every connection on --listen is TLS 1.3 or 1.2 (wss://, https://). SIGHUP re-reads both files.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(help: "permessage-deflate (RFC 7692) for clients that offer it, as browsers do: on (a message is compressed once, when the first of them is sent it, for all of them; their compressed messages are inflated, --max-message-bytes applying to the inflated size) or off.")
    var compression: Switch = .on

    @Option(help: "Connections to provision for; decides the number of io_uring rings.")
    var maxConnections: Int = 100_000

    @Option(help: "Largest WebSocket message accepted, in bytes (larger: close 1009).")
    var maxMessageBytes: Int = 64 * 1024

    @Option(help: "Seconds a new connection has to send its HTTP request head (then 408).")
    var handshakeTimeout: Double = 10

    @Option(help: "Frames queued per connection: live messages use half, replies the rest; a subscription that finds its half taken reads on from the subject's history as the socket drains.")
    var sendQueueFrames: Int = 32

    @Option(help: "Bytes a connection may fall behind (not yet sent to it) before it is closed with 1008.")
    var maxLagBytes: Int = 32 << 20

    @Option(help: "Seconds the oldest message not yet sent to a connection may wait before the connection is closed with 1008.")
    var maxLagSeconds: Double = 60

    @Option(help: "Kernel send buffer per connection in bytes (SO_SNDBUF; the kernel doubles it). 0, the default: the kernel's autotuning, up to net.ipv4.tcp_wmem's maximum.")
    var socketSendBuffer: Int = 0

    @Option(help: "Subscriptions one connection may hold.")
    var maxSubscriptions: Int = 64

    @Option(help: "Connections one source address may hold at once (0: unlimited, the default: players behind one NAT share an address). Past it: HTTP 503, or close 1013 if the upgrade already happened.")
    var maxConnectionsPerAddress: Int = 0

    @Option(help: "Authentication: none (anyone may act as any user; logged loudly at start) or jwt (HS256 tokens, see docs/PROTOCOL.md).")
    var auth: AuthChoice = .none

    @Option(help: "File holding the HS256 secret for --auth jwt (at least 32 bytes; one trailing newline is ignored).")
    var jwtSecretFile: String?

    @Option(help: "Seconds before a token expires at which the connection gets err token_expiring.")
    var tokenExpiryWarning: Double = 30

    @Option(help: "Pubs per second one connection may send (token bucket; over it: err rate_limited). 0: unlimited.")
    var pubRate: Double = 50

    @Option(help: "Pubs one connection may send at once before --pub-rate applies.")
    var pubBurst: Double = 100

    @Option(help: "Seconds of silence before the gateway pings a connection; silent as long again, it is closed (1001). 0: never.")
    var idleTimeout: Double = 300

    @Option(help: "Recent messages kept per subject: clients that resubscribe with since and connections catching up after a burst read from here (0: none; a since then gets a gap and a connection that falls behind is closed).")
    var historyMessages: Int = 100_000

    @Option(help: "Seconds a message stays in its subject's history.")
    var historySeconds: Double = 180

    @Option(help: "Messages kept in all subjects' histories together (bounds the memory they take).")
    var historyFrames: Int = 131_072

    @Option(help: "Subjects nobody here subscribes to whose latest message and history are kept at most; older ones are forgotten (a client resuming one gets it from Kafka).")
    var maxIdleSubjects: Int = GatewayConfiguration.defaultMaxIdleSubjects

    @Option(help: "Directory of the web UI served at / (none when not given).")
    var webRoot: String?

    @Option(help: "I/O threads (default: one per core). Each runs as many io_uring rings as its connections need (a ring holds at most the descriptor limit).")
    var ioThreads: Int?

    @Option(help: .hidden)
    var rings: Int?

    @Option(help: "Kafka bootstrap servers, HOST:PORT[,...]. Without it (or --bootstrap-file) pubs go straight to local subscribers.")
    var brokers: String?

    @Option(help: "File holding the bootstrap address, as written by stadium-kafka --bootstrap-file.")
    var bootstrapFile: String?

    @Option(help: "Kafka topics fanned out to subscribers (/T for a null key, /T/K for key K).")
    var topics: String = "question,result,top"

    @Option(help: "librdkafka properties file (key=value lines), e.g. security.protocol and sasl.* for a managed cluster.")
    var kafkaConfig: String?

    @Option(help: "Records replayed per partition at start to rebuild each subject's latest message.")
    var replayLast: Int64 = 100

    @Option(help: "Seconds a pub may wait for Kafka's acknowledgement before the client gets err timeout.")
    var ackTimeout: Double = 10

    @Option(help: "How the producers of keyed records chose their partition, to find a resuming client's records in Kafka: crc32 (librdkafka's default, consistent_random) or murmur2 (the Java client's default). A partition seen on a subject's records wins over this.")
    var partitioner: KeyPartitioner = .crc32

    @Option(help: "Offsets of one partition read back from Kafka at most for one subject of a resuming client whose gap is older than this gateway's memory; anything older is a gap.")
    var recoveryMaxRecords: Int64 = 100_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log lines as text, or json: one object a line (time, level, logger, message, metadata) for log shippers.")
    var logFormat: LogFormat = .text

    @Option(help: "Settings file: one `name = value` a line, named as these options without their dashes (`listen = 0.0.0.0:8080`). Options on the command line win over it.")
    var config: String?

    /// The --config file's settings go before the command line's, so flags win (see ConfigFile).
    static func main() async {
        do {
            await main(try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exit(withError: error)
        }
    }

    func validate() throws {
        do {
            _ = try SocketAddress(parsing: listen)
        } catch {
            throw ValidationError("--listen: \(error)")
        }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard maxMessageBytes >= 125 else { throw ValidationError("--max-message-bytes must be at least 125") }
        guard sendQueueFrames >= 4, sendQueueFrames <= 4096 else {
            throw ValidationError("--send-queue-frames must be between 4 and 4096")
        }
        guard socketSendBuffer == 0 || (4096...(1 << 30)).contains(socketSendBuffer) else {
            throw ValidationError("--socket-send-buffer is 0 (the kernel's autotuning) or 4096 to 1073741824 bytes")
        }
        guard maxLagBytes >= 65_536, maxLagSeconds > 0 else {
            throw ValidationError("--max-lag-bytes must be at least 65536 and --max-lag-seconds positive")
        }
        guard recoveryMaxRecords >= 0 else { throw ValidationError("--recovery-max-records must not be negative") }
        guard maxIdleSubjects >= 0 else { throw ValidationError("--max-idle-subjects must not be negative") }
        guard handshakeTimeout > 0 else { throw ValidationError("--handshake-timeout must be positive") }
        guard pubRate >= 0, idleTimeout >= 0, tokenExpiryWarning >= 0 else {
            throw ValidationError("--pub-rate, --idle-timeout and --token-expiry-warning must not be negative")
        }
        guard historyMessages >= 0, historySeconds > 0, historyFrames >= 0 else {
            throw ValidationError("--history-messages and --history-frames must not be negative, --history-seconds must be positive")
        }
        guard maxConnectionsPerAddress >= 0 else { throw ValidationError("--max-connections-per-address must not be negative") }
        guard pubBurst >= 1 else { throw ValidationError("--pub-burst must be at least 1") }
        if auth == .jwt && jwtSecretFile == nil { throw ValidationError("--auth jwt needs --jwt-secret-file") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        logFormat.bootstrap(level: logLevel)
        let logger = Logger(label: "stadium.gateway")
        var configuration = GatewayConfiguration(listen: try SocketAddress(parsing: listen))
        configuration.maxConnections = maxConnections
        configuration.maxMessageBytes = maxMessageBytes
        configuration.handshakeTimeout = .milliseconds(Int(handshakeTimeout * 1000))
        configuration.sendQueueFrames = sendQueueFrames
        configuration.maxLagBytes = maxLagBytes
        configuration.maxLagDuration = .milliseconds(Int(maxLagSeconds * 1000))
        configuration.socketSendBufferBytes = socketSendBuffer == 0 ? nil : socketSendBuffer
        configuration.maxSubscriptionsPerConnection = maxSubscriptions
        configuration.maxConnectionsPerAddress = maxConnectionsPerAddress > 0 ? maxConnectionsPerAddress : nil
        configuration.webRoot = webRoot
        configuration.publishRate = pubRate > 0 ? pubRate : nil
        configuration.publishBurst = pubBurst
        configuration.maxIdleSubjects = maxIdleSubjects
        configuration.history.messages = historyMessages
        configuration.history.age = .milliseconds(Int(historySeconds * 1000))
        configuration.history.frames = historyFrames
        configuration.idleTimeout = idleTimeout > 0 ? .milliseconds(Int(idleTimeout * 1000)) : nil
        configuration.tokenExpiryWarning = .milliseconds(Int(tokenExpiryWarning * 1000))
        do {
            configuration.auth = try authMode()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        // --rings was the thread count before a thread could run several rings.
        configuration.ioThreads = ioThreads ?? rings
        configuration.compression = compression == .on
        if let tlsCert, let tlsKey { configuration.tls = TLSServerFiles(certificateChain: tlsCert, privateKey: tlsKey) }
        do {
            configuration.kafka = try kafkaBridge()
        } catch {
            logger.critical("Kafka configuration: \(error)")
            throw ExitCode.failure
        }
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: configuration, logger: logger)
            try gateway.start()
        } catch {
            logger.critical("cannot start: \(error)")
            if let error = error as? SystemError,
               let hint = RingMemoryLimit.hint(for: error, lockedMemoryLimit: RingMemoryLimit.lockedMemoryLimit()) {
                logger.critical("\(hint)")
            }
            throw ExitCode.failure
        }
        let service = GatewayService(gateway: gateway, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

extension GatewayCommand {
    /// The Kafka side from --brokers / --bootstrap-file and --kafka-config; nil when neither is given.
    func kafkaBridge() throws -> KafkaBridgeConfiguration? {
        var config = try kafkaConfig.map { try KafkaConfig.load(propertiesFile: $0) } ?? KafkaConfig()
        if let brokers {
            config["bootstrap.servers"] = brokers
        } else if let bootstrapFile {
            let text = try String(contentsOfFile: bootstrapFile, encoding: .utf8)
            config["bootstrap.servers"] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard config["bootstrap.servers"] != nil else { return nil }
        var bridge = KafkaBridgeConfiguration(config: config)
        bridge.topics = topics.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }
        bridge.replayLast = replayLast
        bridge.acknowledgementTimeout = .milliseconds(Int(ackTimeout * 1000))
        bridge.partitioner = partitioner
        bridge.recoveryMaxRecords = recoveryMaxRecords
        return bridge
    }
}

extension GatewayCommand {
    enum Switch: String, ExpressibleByArgument, CaseIterable {
        case on
        case off
    }

    enum AuthChoice: String, ExpressibleByArgument, CaseIterable {
        case none
        case jwt
    }

    enum SecretError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case tooShort(path: String, bytes: Int)

        var description: String {
            switch self {
            case .unreadable(let path, let reason): return "--jwt-secret-file \(path): \(reason)"
            case .tooShort(let path, let bytes):
                return "--jwt-secret-file \(path): \(bytes) bytes; HS256 needs at least \(TokenVerifier.minimumSecretBytes)"
            }
        }
    }

    func authMode() throws(SecretError) -> AuthMode {
        guard auth == .jwt, let jwtSecretFile else { return .none }
        guard let data = FileManager.default.contents(atPath: jwtSecretFile) else {
            throw .unreadable(path: jwtSecretFile, reason: "cannot read the file")
        }
        var secret = Array(data)
        if secret.last == UInt8(ascii: "\n") { secret.removeLast() }
        guard secret.count >= TokenVerifier.minimumSecretBytes else {
            throw .tooShort(path: jwtSecretFile, bytes: secret.count)
        }
        return .jwt(TokenVerifier(secret: secret))
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension KeyPartitioner: ExpressibleByArgument {}

/// Keeps the gateway running until a shutdown signal, then stops it.
struct GatewayService: Service {
    let gateway: Gateway
    let logger: Logger

    func run() async throws {
        // SIGHUP reloads the certificates (systemd's ExecReload); it no longer ends the gateway.
        signal(SIGHUP, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reload.setEventHandler { [gateway, logger] in
            do {
                if try gateway.reloadTLS() {
                    logger.notice("TLS certificates reloaded")
                } else {
                    logger.notice("SIGHUP: nothing to reload without --tls-cert")
                }
            } catch {
                logger.error("TLS certificates not reloaded, the old ones stay: \(error)")
            }
        }
        reload.resume()
        defer { reload.cancel() }
        // One line on stdout for scripts and tests: where to connect (the real port when 0 was
        // asked). Printed only now, once the service group handles SIGTERM/SIGINT, so a signal
        // sent right after it always means a clean shutdown.
        print("stadium-gateway: listening on \(gateway.isTLS ? "wss" : "ws")://\(gateway.address)/", terminator: "\n")
        fflush(stdout)
        try? await gracefulShutdown()
        gateway.stop()
    }
}


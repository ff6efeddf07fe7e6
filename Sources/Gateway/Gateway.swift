// A running gateway: the listener, the rings and their threads, the fan-out hub, the routes.
import Foundation
import KafkaClient
import Logging
import RingTLS
import StadiumTLS
import Synchronization
import UringIO

public final class Gateway: @unchecked Sendable {
    public let configuration: GatewayConfiguration
    public let metrics: GatewayMetrics
    public let plan: RingPlan
    /// Where the gateway really listens (the port is filled in when 0 was asked for).
    public var address: SocketAddress { listener.address }

    let frames: FramePool
    let hub: FanoutHub
    private let listener: Listener
    private var loops: [RingLoop] = []
    private var handlers: [GatewayRing] = []
    private let logger: Logger
    private let kafkaMetrics: KafkaMetrics?
    private var kafkaRoute: KafkaRoute?
    private var kafkaFanout: KafkaFanout?
    /// The listener's certificates, shared by every ring's handshakes; nil for plaintext.
    private let tlsContext: TLSContext?

    public init(configuration: GatewayConfiguration, logger: Logger = Logger(label: "stadium.gateway")) throws {
        self.configuration = configuration
        self.logger = logger
        let descriptorLimit = raiseDescriptorLimit()
        plan = RingPlan(
            maxConnections: configuration.maxConnections, descriptorLimit: descriptorLimit,
            cores: ProcessInfo.processInfo.activeProcessorCount, threads: configuration.ioThreads)
        let metrics = GatewayMetrics()
        self.metrics = metrics
        let kafkaMetrics = configuration.kafka.map { kafka in
            KafkaMetrics(registry: metrics.registry, consumedTopics: kafka.topics, producedTopics: kafka.producedTopics)
        }
        // Only Kafka records carry an origin time to measure from.
        let sendLatencies = kafkaMetrics.map { _ in SendLatencies(boundsMilliseconds: KafkaMetrics.latencyBucketsMilliseconds) }
        self.kafkaMetrics = kafkaMetrics
        // Enough frames for a retained message per subject, the histories, and what the queues hold.
        var historyFrames = configuration.history.messages > 0 ? configuration.history.frames : 0
        // With compression a message kept in history may hold its compressed form too.
        if configuration.compression { historyFrames *= 2 }
        // With TLS each connection may also hold the sealed copy of the frame it is writing.
        let sealedFrames = configuration.tls == nil ? 0 : configuration.maxConnections
        frames = FramePool(
            capacity: max(65_536, 2 * configuration.maxConnections + 16_384) + historyFrames + sealedFrames,
            sendLatencies: sendLatencies)
        tlsContext = try configuration.tls.map { files throws(TLSConfigurationError) in try TLSContext.server(files) }
        hub = FanoutHub(
            subjects: SubjectRegistry(frames: frames, history: configuration.history, maxIdleSubjects: configuration.maxIdleSubjects),
            frames: frames, compression: configuration.compression, metrics: metrics, logger: logger)
        listener = try Listener(address: configuration.listen, sendBufferBytes: configuration.socketSendBufferBytes)
    }

    /// Connects to Kafka when configured (failing on bad properties or missing topics), then
    /// starts the rings.
    public func start() throws {
        let route: PublishRoute
        if let kafka = configuration.kafka, let kafkaMetrics {
            var producerConfig = kafka.config
            producerConfig["message.timeout.ms"] = producerConfig["message.timeout.ms"]
                ?? String(kafka.acknowledgementTimeout.components.seconds * 1000)
            // Every connection may have an answer in flight at once (librdkafka's default holds 100,000).
            producerConfig["queue.buffering.max.messages"] = producerConfig["queue.buffering.max.messages"]
                ?? String(max(100_000, 2 * configuration.maxConnections))
            let kafkaRoute = try KafkaRoute(
                config: producerConfig, gatewayName: "\(address)", hub: hub, metrics: metrics,
                kafkaMetrics: kafkaMetrics)
            let kafkaFanout = try KafkaFanout(
                config: kafka.config, topics: kafka.topics, replayLast: kafka.replayLast, hub: hub,
                metrics: metrics, kafkaMetrics: kafkaMetrics)
            self.kafkaFanout = kafkaFanout
            let planner = RecoveryPlanner(
                partitionCounts: kafkaFanout.partitionCounts, startOffsets: kafkaFanout.startOffsets,
                partitioner: kafka.partitioner)
            hub.recovery = try KafkaRecovery(
                config: kafka.config, planner: planner, nextToDeliver: { kafkaFanout.nextToDeliver($0) },
                hub: hub, metrics: metrics, maxRecords: kafka.recoveryMaxRecords,
                timeout: kafka.acknowledgementTimeout, logger: logger)
            self.kafkaRoute = kafkaRoute
            route = kafkaRoute
        } else {
            route = LocalRoute(hub: hub, metrics: metrics)
        }
        let routes = try HTTPRoutes(
            webRoot: configuration.webRoot,
            health: { [unowned self] in self.health() },
            metricsText: { [unowned self] in self.metricsText() })
        var ringConfiguration = RingConfiguration(slots: plan.slotsPerThread, slotsPerRing: plan.slotsPerRing)
        ringConfiguration.sendQueueFrames = configuration.sendQueueFrames
        ringConfiguration.sendQueueBytes = configuration.sendQueueBytes
        ringConfiguration.resolvesPeerAddresses = configuration.maxConnectionsPerAddress != nil
        // A buffer is held only from a receive's completion to the end of its handling; a thread
        // running many rings reaps each often, so fewer per ring (4 KiB each, all resident) do.
        if plan.ringsPerThread > 1 { ringConfiguration.receiveBufferCount = 128 }
        let addressLimiter = configuration.maxConnectionsPerAddress.map { AddressLimiter(limit: $0) }
        // One for all rings: the heap they free handshakes into is the process's.
        let handshakeTrim = HandshakeMemoryTrim()
        for index in 0..<plan.threads {
            let loop = try RingLoop(index: index, configuration: ringConfiguration, frames: frames, listener: listener)
            let inbox = RingInbox()
            let tls = try tlsContext.map { context throws(TLSRecordError) in
                try TLSConnections(context: context, frames: frames, slots: plan.slotsPerThread, trim: handshakeTrim)
            }
            let handler = GatewayRing(
                index: index, slots: plan.slotsPerThread, configuration: configuration, hub: hub, inbox: inbox,
                route: route, routes: routes, metrics: metrics, addressLimiter: addressLimiter, tls: tls, logger: logger)
            loop.handler = handler
            if tls != nil { loop.sealer = handler }
            hub.attach(loop, inbox: inbox)
            loops.append(loop)
            handlers.append(handler)
        }
        if case .none = configuration.auth {
            logger.warning(
                "--auth none: connections are NOT authenticated; anyone may subscribe and publish as any user (records say user anonymous). Use --auth jwt in production.")
        }
        for loop in loops { try loop.start() }
        hub.recovery?.start()
        kafkaFanout?.start()
        logger.info(
            "listening",
            metadata: [
                "address": "\(address)", "tls": "\(isTLS)", "io_threads": "\(plan.threads)", "rings": "\(plan.rings)", "slots_per_ring": "\(plan.slotsPerRing)",
            ])
    }

    /// True when the listener speaks TLS (https, wss).
    public var isTLS: Bool { tlsContext != nil }

    /// Re-reads the certificate chain and key (SIGHUP): new handshakes use them, connections
    /// stay. On error the certificates in use stay and the error says why; false without TLS.
    public func reloadTLS() throws(TLSConfigurationError) -> Bool {
        guard let tlsContext else { return false }
        try tlsContext.reload()
        return true
    }

    /// Stops consuming, waits (bounded) for Kafka to acknowledge the pubs in flight so their
    /// `ok` still goes out, then says goodbye to every connection (close 1001) and stops the rings.
    public func stop() {
        hub.stopAccepting()
        kafkaFanout?.stop()
        hub.recovery?.stop()
        if let kafkaRoute {
            let outstanding = kafkaRoute.outstanding
            if outstanding > 0 { logger.info("waiting for Kafka to acknowledge \(outstanding) pubs") }
            let deadline = ContinuousClock.now + (configuration.kafka?.acknowledgementTimeout ?? .seconds(10))
            kafkaRoute.flush(timeout: deadline - .now)
            // Delivery reports may still be running on the producer's poll thread after flush.
            while kafkaRoute.outstanding > 0 && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            let abandoned = kafkaRoute.abandonOutstanding()
            if abandoned > 0 { logger.warning("\(abandoned) pubs not acknowledged by Kafka before shutdown: answered timeout") }
        }
        for loop in loops { loop.stop() }
        for loop in loops { loop.join() }
    }

    private var kafkaState: (up: Bool, detail: String)? {
        guard let kafkaRoute, let kafkaFanout else { return nil }
        let producer = kafkaRoute.connectivity.current
        let consumer = kafkaFanout.connectivity.current
        let up = producer.isUp && consumer.isUp
        return (up, up ? "connected" : (consumer.reason ?? producer.reason ?? "unreachable"))
    }

    private func metricsText() -> [UInt8] {
        if let kafkaFanout, let kafkaMetrics {
            kafkaMetrics.refresh(lag: kafkaFanout.lag(), kafkaUp: kafkaState?.up ?? false)
        }
        var text = metrics.render(loops: loops, subjectCount: hub.subjects.count, frames: frames)
        if let latencies = frames.sendLatencies { KafkaMetrics.emitFanoutLatency(latencies.snapshot, into: &text) }
        return text
    }

    public var openConnections: Int {
        loops.reduce(0) { $0 + $1.counters.open.load(ordering: .relaxed) }
    }

    private func health() -> (healthy: Bool, json: String) {
        let kafka = kafkaState
        let healthy = kafka?.up ?? true
        var json = "{\"status\":\"\(healthy ? "ok" : "degraded")\",\"connections\":\(openConnections),\"io_threads\":\(plan.threads),\"rings\":\(plan.rings)"
        if let kafka {
            let detail = kafka.detail.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"")
            json += ",\"kafka\":\"\(kafka.up ? "up" : "down")\",\"kafka_detail\":\"\(detail)\""
        } else {
            json += ",\"kafka\":\"disabled\""
        }
        return (healthy, json + "}")
    }
}

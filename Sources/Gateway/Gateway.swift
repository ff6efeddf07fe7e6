// A running gateway: the listener, the rings and their threads, the fan-out hub, the routes.
import Foundation
import Logging
import UringIO

public final class Gateway: @unchecked Sendable {
    public let configuration: GatewayConfiguration
    public let metrics = GatewayMetrics()
    public let plan: RingPlan
    /// Where the gateway really listens (the port is filled in when 0 was asked for).
    public var address: SocketAddress { listener.address }

    let frames: FramePool
    let hub: FanoutHub
    private let listener: Listener
    private var loops: [RingLoop] = []
    private var handlers: [GatewayRing] = []
    private let logger: Logger
    /// Extra health facts (e.g. Kafka's state) added by the bridge; nil when not configured.
    var kafkaHealth: (() -> (up: Bool, detail: String))?

    public init(configuration: GatewayConfiguration, logger: Logger = Logger(label: "stadium.gateway")) throws {
        self.configuration = configuration
        self.logger = logger
        let descriptorLimit = raiseDescriptorLimit()
        plan = RingPlan(
            maxConnections: configuration.maxConnections, descriptorLimit: descriptorLimit,
            cores: ProcessInfo.processInfo.activeProcessorCount, rings: configuration.rings)
        // Enough frames for a retained message per subject plus what the queues can hold.
        frames = FramePool(capacity: max(65_536, 2 * configuration.maxConnections + 16_384))
        hub = FanoutHub(subjects: SubjectRegistry(frames: frames), frames: frames)
        listener = try Listener(address: configuration.listen)
    }

    /// Starts the rings with `route` for client pubs (local routing when nil).
    public func start() throws {
        try start(route: nil)
    }

    func start(route: PublishRoute?) throws {
        let route = route ?? LocalRoute(hub: hub, metrics: metrics)
        let routes = try HTTPRoutes(
            webRoot: configuration.webRoot,
            health: { [unowned self] in self.health() },
            metricsText: { [unowned self] in self.metrics.render(loops: self.loops, subjectCount: self.hub.subjects.count) })
        var ringConfiguration = RingConfiguration(slots: plan.slotsPerRing)
        ringConfiguration.sendQueueFrames = configuration.sendQueueFrames
        ringConfiguration.sendQueueBytes = configuration.sendQueueBytes
        for index in 0..<plan.rings {
            let loop = try RingLoop(index: index, configuration: ringConfiguration, frames: frames, listener: listener)
            let inbox = RingInbox()
            let handler = GatewayRing(
                index: index, slots: plan.slotsPerRing, configuration: configuration, hub: hub, inbox: inbox,
                route: route, routes: routes, metrics: metrics)
            loop.handler = handler
            hub.attach(loop, inbox: inbox)
            loops.append(loop)
            handlers.append(handler)
        }
        for loop in loops { try loop.start() }
        logger.info(
            "listening",
            metadata: [
                "address": "\(address)", "rings": "\(plan.rings)", "slots_per_ring": "\(plan.slotsPerRing)",
            ])
    }

    /// Says goodbye to every connection (close 1001), then stops the rings and waits for them.
    public func stop() {
        for loop in loops { loop.stop() }
        for loop in loops { loop.join() }
    }

    public var openConnections: Int {
        loops.reduce(0) { $0 + $1.counters.open.load(ordering: .relaxed) }
    }

    private func health() -> (healthy: Bool, json: String) {
        let kafka = kafkaHealth?()
        let healthy = kafka?.up ?? true
        var json = "{\"status\":\"\(healthy ? "ok" : "degraded")\",\"connections\":\(openConnections),\"rings\":\(plan.rings)"
        if let kafka {
            json += ",\"kafka\":\"\(kafka.up ? "up" : "down")\",\"kafka_detail\":\"\(kafka.detail)\""
        } else {
            json += ",\"kafka\":\"disabled\""
        }
        return (healthy, json + "}")
    }
}

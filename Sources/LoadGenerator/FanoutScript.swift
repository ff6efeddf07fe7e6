// --mode fanout: every connection subscribes to one subject (or, with --keys, to one key of it);
// connection 0, or a producer outside (--external-publisher), publishes numbered probes on a fixed
// schedule once all are subscribed; each receipt is timed from the probe's scheduled send and
// tallied for loss.
import StadiumProtocol
import Synchronization

public struct FanoutSettings: Sendable {
    public var subject: String
    public var messages: Int
    public var intervalMilliseconds: Int64
    /// Publishing starts once every connection is subscribed, or this long after the ramp at the latest.
    public var subscribeGraceMilliseconds: Int64
    /// Filler bytes in each probe, for larger messages than the bare probe's 40 or so.
    public var paddingBytes: Int
    /// Above 1: connection i subscribes to `<subject>/k<i % keys>` alone, and every key gets the
    /// probes 0..<messages (the peers' benchmark shape: many keys, one per client).
    public var keys: Int
    /// Probes come from a producer writing straight to Kafka (Benchmarks/sustained.py), not from
    /// connection 0 through the gateway: the gateway only consumes and fans out.
    public var externalPublisher: Bool

    public init(
        subject: String, messages: Int, intervalMilliseconds: Int64, subscribeGraceMilliseconds: Int64 = 30_000,
        paddingBytes: Int = 0, keys: Int = 1, externalPublisher: Bool = false
    ) {
        self.subject = subject
        self.messages = messages
        self.intervalMilliseconds = intervalMilliseconds
        self.subscribeGraceMilliseconds = subscribeGraceMilliseconds
        self.paddingBytes = paddingBytes
        self.keys = keys
        self.externalPublisher = externalPublisher
    }

    /// The one subject connection `connection` (numbered from 0 over the whole run) subscribes to.
    public func subject(forConnection connection: Int) -> String {
        keys > 1 ? "\(subject)/\(Self.keyName(connection % keys))" : subject
    }

    /// The Kafka key of key number `index`, as an outside producer must write it.
    public static func keyName(_ index: Int) -> String { "k\(index)" }
}

/// When the probes went out, shared with the runner that decides when the run is over.
final class FanoutProgress: Sendable {
    /// Wall-clock ms at which this run began: an outside producer's probes scheduled earlier are not its own.
    let runStartMs = Clock.wallMilliseconds()
    let published = Atomic<Int>(0)
    let lastPublishedMs = Atomic<Int64>(0)
    /// Wall-clock ms at which publishing starts even if some connections never subscribed.
    let startDeadlineMs = Atomic<Int64>(Int64.max)
}

final class FanoutScript: SessionScript {
    private let settings: FanoutSettings
    private let totalConnections: Int
    private let counters: LoadCounters
    private let latency: LatencyRecorder
    private let progress: FanoutProgress
    private let subscriber: IdleScript
    private var tallies: [DeliveryTally]
    /// Set when publishing starts (the ring holding connection 0 only).
    private var schedule: ProbeSchedule?
    /// The schedule's start on the monotonic clock, for the publish-to-ok latency.
    private var scheduleStartUs: Int64 = 0
    private static let firstProbeRequestID: Int64 = 1000

    init(
        settings: FanoutSettings, totalConnections: Int, connectionsInRing: Int, counters: LoadCounters,
        latency: LatencyRecorder, progress: FanoutProgress
    ) {
        self.settings = settings
        self.totalConnections = totalConnections
        self.counters = counters
        self.latency = latency
        self.progress = progress
        subscriber = IdleScript(
            subjects: { [settings] connection in [settings.subject(forConnection: connection)] },
            connectionsInRing: connectionsInRing, counters: counters, latency: latency)
        tallies = Array(repeating: DeliveryTally(), count: connectionsInRing)
    }

    func opened(_ link: SessionLink, connection: Int) {
        subscriber.opened(link, connection: connection)
    }

    func received(_ link: SessionLink, connection: Int, message: ServerMessage, bytes: RawSpan) {
        switch message {
        case .msg(_, _, let data, let retained) where !retained:
            guard let probe = FanoutProbe(data: bytes, range: data) else {
                counters.add(.messages)
                return
            }
            if settings.externalPublisher && probe.wasScheduled(before: progress.runStartMs) {
                counters.add(.staleProbes)
                return
            }
            // A repeat is counted by the tally as a duplicate, not timed or counted as received.
            guard tallies[link.localIndex(of: connection)].record(probe.index) != .duplicate else { return }
            counters.add(.probesReceived)
            latency.recordDelivery(ofProbe: probe.index, milliseconds: probe.deliveryLatencyMs(receivedMs: Clock.wallMilliseconds()))
        case .ok(let id?) where id >= Self.firstProbeRequestID:
            let index = Int(id - Self.firstProbeRequestID)
            guard index < settings.messages, let schedule else { return }
            counters.add(.probeAcks)
            latency.record(.publishAck, microseconds: Clock.monotonicMicroseconds() - scheduledUs(ofProbe: index, in: schedule))
        default:
            subscriber.received(link, connection: connection, message: message, bytes: bytes)
        }
    }

    /// Only the ring holding connection 0 publishes: every probe due since the last tick, so
    /// intervals shorter than a tick keep their rate.
    func ticked(_ link: SessionLink) {
        guard !settings.externalPublisher else { return }
        guard link.localIndex(of: 0) == 0, link.connection(atLocal: 0) == 0, link.isOpen(connection: 0) else { return }
        let now = Clock.wallMilliseconds()
        let everyoneListening = counters[.subscribed] >= totalConnections
        guard everyoneListening || now >= progress.startDeadlineMs.load(ordering: .relaxed) else { return }
        if schedule == nil {
            schedule = ProbeSchedule(startMs: now, intervalMs: settings.intervalMilliseconds, count: settings.messages)
            scheduleStartUs = Clock.monotonicMicroseconds()
        }
        // Due by the monotonic clock that send lag and acks are timed on: a step of the wall clock had
        // released probes early, so their acks timed at 0 ms.
        let elapsedMs = (Clock.monotonicMicroseconds() - scheduleStartUs) / 1000
        for index in schedule!.due(elapsedMs: elapsedMs, published: progress.published.load(ordering: .relaxed)) {
            guard publishProbe(link, index: index, now: now) else { break }
        }
    }

    /// Probe `index` goes out now, however late: its latencies still count from its due time.
    private func publishProbe(_ link: SessionLink, index: Int, now: Int64) -> Bool {
        let scheduledMs = schedule!.scheduledMs(ofProbe: index)
        let probe = FanoutProbe(index: index, scheduledMs: scheduledMs, sentMs: now)
        let request = ClientRequestEncoder.pub(
            id: Self.firstProbeRequestID + Int64(index), subject: settings.subject, data: probe.json(paddingBytes: settings.paddingBytes))
        guard link.sendText(connection: 0, request) else { return false }
        counters.add(.probesPublished)
        latency.record(.sendLag, microseconds: Clock.monotonicMicroseconds() - scheduledUs(ofProbe: index, in: schedule!))
        progress.published.store(index + 1, ordering: .relaxed)
        progress.lastPublishedMs.store(now, ordering: .relaxed)
        return true
    }

    /// A probe's due time on the monotonic clock (the wall clock may be stepped mid-run).
    private func scheduledUs(ofProbe index: Int, in schedule: ProbeSchedule) -> Int64 {
        scheduleStartUs + (schedule.scheduledMs(ofProbe: index) - schedule.startMs) * 1000
    }

    func closed(_ link: SessionLink, connection: Int) {}

    func lossSummary() -> LossSummary? {
        var summary = LossSummary()
        // An outside producer writes every probe; connection 0 only those it got out.
        let published = settings.externalPublisher ? settings.messages : progress.published.load(ordering: .relaxed)
        for tally in tallies { summary.add(tally, published: published) }
        return summary
    }
}

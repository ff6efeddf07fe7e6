// One run of the load generator: rings, connector, progress lines, and the final report.
import Foundation
import Logging
import RingTLS
import StadiumTLS
import Synchronization
import UringIO

public final class LoadRun: @unchecked Sendable {
    public let configuration: LoadConfiguration
    private let logger: Logger
    private let counters = LoadCounters()
    private let stopRequested = Atomic<Bool>(false)
    private var loops: [RingLoop] = []
    private var clients: [ClientRing] = []
    private var recorders: [LatencyRecorder] = []
    private var connector: Connector!
    private let fanoutProgress = FanoutProgress()
    private let phase = RunPhase()
    /// One per ring: a ring's bots tally their rounds without a lock shared across rings.
    private var ledgers: [RoundLedger] = []
    /// When the last round logged opened (the supervising thread's own).
    private var lastLoggedRoundMs = Int64.min
    /// Progress samples; only the supervising thread appends.
    private var timeline: [ProgressSample] = []

    public init(configuration: LoadConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Ends the run from any thread (a signal handler's queue, say); `run` then reports.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
    }

    public func run() throws(SystemError) -> LoadReport {
        let limit = raiseDescriptorLimit()
        // The ring's table counts against RLIMIT_NOFILE; keep room for eventfds, logs and connects in flight.
        let slots = configuration.slotsPerRing ?? max(64, min(limit - 1000, configuration.connections))
        let ringCount = LoadConfiguration.ringCount(connections: configuration.connections, slotsPerRing: slots)
        // One for all rings: the heap they free handshakes into is the process's.
        let handshakeTrim = HandshakeMemoryTrim()
        for index in 0..<ringCount {
            let inRing = LoadConfiguration.connections(onRing: index, of: ringCount, total: configuration.connections)
            var ringConfiguration = RingConfiguration(slots: min(slots, max(inRing, 1) + 16))
            ringConfiguration.stopTimeout = .seconds(2)
            ringConfiguration.receiveBufferSize = configuration.receiveBufferBytes
            // Probes and answers go out on the first tick after they are due, and their latencies
            // count from the due time: a fine tick keeps the load generator's own slack small.
            ringConfiguration.tickInterval = .milliseconds(10)
            // A pool per ring: a client frame never crosses rings, and one shared pool's lock
            // was most of the load generator's time with 53 rings on 2 cores.
            let frames = FramePool(capacity: 1 << 15)
            let loop = try RingLoop(index: index, configuration: ringConfiguration, frames: frames, listener: nil)
            let latency = LatencyRecorder()
            // Each ring's bots learn from their own results: a fleet-wide lock cost more than it taught.
            let knowledge = AnswerKnowledge()
            let ledger = RoundLedger()
            let script = makeScript(connectionsInRing: inRing, latency: latency, knowledge: knowledge, ledger: ledger)
            let tls: TLSConnections?
            do {
                tls = try configuration.tls.map { context throws(TLSRecordError) in
                    try TLSConnections(context: context, frames: frames, slots: ringConfiguration.slots, trim: handshakeTrim)
                }
            } catch {
                // Only a libcrypto without these AEAD ciphers gets here.
                throw SystemError(call: "TLS record crypto (\(error))", errno: EINVAL)
            }
            let client = ClientRing(
                loop: loop, ringIndex: index, ringCount: ringCount, connectionsInRing: inRing,
                gateways: configuration.gateways, script: script,
                counters: counters, latency: latency, handshakeTimeoutMicroseconds: configuration.handshakeTimeoutMicroseconds,
                tls: tls, compression: configuration.compression, logger: logger)
            loop.handler = client
            if tls != nil { loop.sealer = client }
            loops.append(loop)
            clients.append(client)
            recorders.append(latency)
            ledgers.append(ledger)
        }
        let gateways = configuration.gateways.map { SocketAddressV4(address: IPv4Address(dotted: $0.host)!, port: $0.port) }
        connector = Connector(
            settings: Connector.Settings(
                gateways: gateways, connections: configuration.connections, rate: configuration.rate,
                bindSources: configuration.bindsSources, firstSource: configuration.firstSource,
                sourcePorts: configuration.sourcePorts, connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds,
                reconnect: true),
            rings: clients, counters: counters, logger: logger)
        for client in clients { client.attach(connector) }
        for loop in loops { try loop.start() }
        logger.info("\(configuration.mode.name): \(configuration.connections) connection(s) to \(configuration.gateways.map(\.description).joined(separator: ", then ")) over \(ringCount) ring(s), \(configuration.rate > 0 ? "\(Int(configuration.rate)) connects/s" : "as fast as possible"), sources \(configuration.bindsSources ? "bound from \(configuration.firstSource), ports \(configuration.sourcePorts.lowerBound)-\(configuration.sourcePorts.upperBound)" : "chosen by the kernel")")

        let start = ContinuousClock.now
        connector.start()
        let rampSeconds = superviseUntilDone(start: start)
        let duration = ContinuousClock.now - start

        connector.stop()
        for loop in loops { loop.stop() }
        for loop in loops { loop.join() }
        let stoppedEarly = stopRequested.load(ordering: .acquiring)
        return makeReport(duration: duration, rampSeconds: rampSeconds, rings: ringCount, stoppedEarly: stoppedEarly)
    }

    private func makeScript(
        connectionsInRing: Int, latency: LatencyRecorder, knowledge: AnswerKnowledge, ledger: RoundLedger
    ) -> SessionScript {
        switch configuration.mode {
        case .players(let settings):
            return BotScript(
                settings: settings, connectionsInRing: connectionsInRing, counters: counters, latency: latency,
                knowledge: knowledge, ledger: ledger, phase: phase, logger: logger)
        case .idle(let subjects):
            return IdleScript(subjects: subjects, connectionsInRing: connectionsInRing, counters: counters, latency: latency)
        case .fanout(let settings):
            return FanoutScript(
                settings: settings, totalConnections: configuration.connections, connectionsInRing: connectionsInRing,
                counters: counters, latency: latency, progress: fanoutProgress)
        }
    }

    /// Logs each round once the next question has opened (all but the last are closed).
    private func logClosedRounds() {
        let rounds = RoundLedger.merged(ledgers)
        for round in rounds.dropLast() where round.openedMs > lastLoggedRoundMs {
            logger.info("\(round.summary)")
            lastLoggedRoundMs = round.openedMs
        }
    }

    /// Prints progress until a stop, the duration, or (fan-out) the drained last probe; returns the ramp time.
    private func superviseUntilDone(start: ContinuousClock.Instant) -> Double? {
        var rampSeconds: Double?
        var nextProgress = start + .seconds(configuration.progressIntervalSeconds)
        var lastConnected = 0
        var lastProgress = start
        var nextSample = start
        var lastProbesReceived = 0
        var lastProbeReceiptMs: Int64 = 0
        var lastSettled = 0
        var lastSettledMs: Int64 = 0
        while !stopRequested.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: 0.05)
            let now = ContinuousClock.now
            if rampSeconds == nil && counters[.handshakes] >= configuration.connections {
                rampSeconds = seconds(now - start)
                logger.info("all \(configuration.connections) connection(s) open after \(String(format: "%.2f", rampSeconds!)) s")
                if case .fanout(let settings) = configuration.mode {
                    fanoutProgress.startDeadlineMs.store(Clock.wallMilliseconds() + settings.subscribeGraceMilliseconds, ordering: .relaxed)
                }
            }
            if case .fanout(let settings) = configuration.mode {
                if rampSeconds == nil && connector.started.load(ordering: .relaxed) >= configuration.connections
                    && fanoutProgress.startDeadlineMs.load(ordering: .relaxed) == Int64.max {
                    fanoutProgress.startDeadlineMs.store(Clock.wallMilliseconds() + settings.subscribeGraceMilliseconds, ordering: .relaxed)
                }
                let received = counters[.probesReceived]
                if received != lastProbesReceived {
                    lastProbesReceived = received
                    lastProbeReceiptMs = Clock.wallMilliseconds()
                }
                if settings.externalPublisher && fanoutProgress.published.load(ordering: .relaxed) == 0 {
                    // The producer is outside: its first probe starts the run's clock; none at all
                    // within the grace (plus the drain) ends the run, with everything counted lost.
                    let graceEndsMs = fanoutProgress.startDeadlineMs.load(ordering: .relaxed)
                    let gaveUp = graceEndsMs != Int64.max && Clock.wallMilliseconds() >= graceEndsMs + configuration.drainMilliseconds
                    if received > 0 || gaveUp {
                        fanoutProgress.published.store(settings.messages, ordering: .relaxed)
                        fanoutProgress.lastPublishedMs.store(Clock.wallMilliseconds(), ordering: .relaxed)
                    }
                }
                if fanoutProgress.published.load(ordering: .relaxed) >= settings.messages {
                    // Done when every probe reached every connection, or deliveries stopped coming.
                    let quietSince = max(fanoutProgress.lastPublishedMs.load(ordering: .relaxed), lastProbeReceiptMs)
                    if received >= settings.messages * configuration.connections
                        || Clock.wallMilliseconds() - quietSince >= configuration.drainMilliseconds {
                        break
                    }
                }
            }
            if let duration = configuration.duration, now - start >= duration {
                guard case .players = configuration.mode else { break }
                // Players drain: answers already sent get their acks and results before the
                // tally, so that what is still missing at the end is lost, not in flight.
                if !phase.draining.load(ordering: .relaxed) {
                    phase.draining.store(true, ordering: .relaxed)
                    logger.info("duration reached: no new answers; waiting for the acks and results of those sent")
                    lastSettledMs = Clock.wallMilliseconds()
                }
                let sent = counters[.answersSent]
                let settled = counters[.answerAcks] + counters[.results]
                if settled != lastSettled {
                    lastSettled = settled
                    lastSettledMs = Clock.wallMilliseconds()
                }
                if settled >= 2 * sent || Clock.wallMilliseconds() - lastSettledMs >= configuration.drainMilliseconds { break }
            }
            if now >= nextSample {
                timeline.append(sample(elapsed: now - start))
                nextSample = now + .seconds(1)
            }
            if now >= nextProgress {
                let connected = counters[.connected]
                let rate = Double(connected - lastConnected) / seconds(now - lastProgress)
                logClosedRounds()
                logger.info("\(progressLine(elapsed: now - start, connectRate: rate))")
                lastConnected = connected
                lastProgress = now
                nextProgress = now + .seconds(configuration.progressIntervalSeconds)
            }
        }
        timeline.append(sample(elapsed: ContinuousClock.now - start))
        return rampSeconds
    }

    private func sample(elapsed: Duration) -> ProgressSample {
        let open = loops.reduce(0) { $0 + $1.counters.open.load(ordering: .relaxed) }
        let received = counters[.messages] + counters[.retained] + counters[.probesReceived]
        return ProgressSample(seconds: seconds(elapsed), open: open, subscribed: counters[.subscribed], received: received)
    }

    private func progressLine(elapsed: Duration, connectRate: Double) -> String {
        let open = loops.reduce(0) { $0 + $1.counters.open.load(ordering: .relaxed) }
        var line = String(format: "t=%.0fs", seconds(elapsed))
        line += " open \(open)/\(configuration.connections) (\(Int(connectRate)) connects/s), subscribed \(counters[.subscribed])"
        line += ", messages \(counters[.messages])"
        switch configuration.mode {
        case .players:
            line += ", questions \(counters[.questions]), answers \(counters[.answersSent]) acked \(counters[.answerAcks])"
            line += ", results \(counters[.results]) correct \(counters[.correctResults])"
        case .fanout:
            line += ", probes published \(counters[.probesPublished]) received \(counters[.probesReceived])"
        case .idle:
            break
        }
        let failures = counters[.connectFailures] + counters[.handshakeFailures]
        if failures > 0 { line += ", failures \(failures)" }
        if counters[.errors] > 0 { line += ", err replies \(counters[.errors])" }
        if counters[.gaps] > 0 { line += ", gaps \(counters[.gaps])" }
        if counters[.duplicates] > 0 { line += ", duplicates \(counters[.duplicates])" }
        let waiting = connector.reconnectsWaiting
        if waiting > 0 { line += ", reconnecting \(waiting)" }
        return line
    }

    private func makeReport(duration: Duration, rampSeconds: Double?, rings: Int, stoppedEarly: Bool) -> LoadReport {
        var loss: LossSummary?
        if case .fanout = configuration.mode {
            var total = LossSummary()
            for client in clients {
                if let summary = client.lossSummary() { total.merge(summary) }
            }
            loss = total
        }
        var players: PlayerSummary?
        if case .players = configuration.mode {
            var total = PlayerSummary()
            for client in clients {
                if let summary = client.playerSummary(stoppedEarly: stoppedEarly) { total.merge(summary) }
            }
            players = total
        }
        let snapshot = counters.snapshot()
        let verdict = RunVerdict(
            counters: snapshot, neverConnected: clients.reduce(0) { $0 + $1.neverConnected }, loss: loss,
            players: players, tolerances: configuration.tolerances)
        return LoadReport(
            mode: configuration.mode.name, url: configuration.gateways.map(\.description).joined(separator: ","),
            connections: configuration.connections, rate: configuration.rate, rings: rings,
            boundSources: configuration.bindsSources, durationSeconds: seconds(duration), rampSeconds: rampSeconds,
            counters: snapshot, latencies: LatencyRecorder.merged(recorders + [connector.latency]), loss: loss,
            rounds: RoundLedger.merged(ledgers), timeline: timeline, players: players, verdict: verdict,
            deliveryWindows: LatencyRecorder.mergedDeliveryWindows(recorders))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

// The connector thread: opens connections at the ramp rate (and reconnects lost ones with
// backoff), binding explicit loopback sources, then hands each socket to its ring.
import Foundation
import Logging
import Synchronization
import UringIO

final class Connector: @unchecked Sendable {
    struct Settings {
        /// The first for every connection; a lost connection tries the next (failover).
        var gateways: [SocketAddressV4]
        var connections: Int
        var rate: Double
        var bindSources: Bool
        var firstSource: IPv4Address
        var sourcePorts: ClosedRange<UInt16>
        var connectTimeoutMilliseconds: Int
        var reconnect: Bool
    }

    private let settings: Settings
    private let rings: [ClientRing]
    private let counters: LoadCounters
    let latency = LatencyRecorder()
    private let logger: Logger
    private var allocator: SourceEndpointAllocator

    private struct Shared {
        var reconnects = ReconnectQueue()
        var failures: [UInt8]
        /// Per connection: the position in `gateways` of where its next connect goes.
        var gatewayOf: [UInt8]
        var random = SplitMix64(seed: 0x5EED)
    }

    private let shared: Mutex<Shared>
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Connections the initial ramp has started.
    let started = Atomic<Int>(0)
    /// Connected ordinary descriptors not yet adopted by their ring: they count against the
    /// process's descriptor limit, so the connector waits for the rings past this many.
    private let descriptorsInHandoff = Atomic<Int>(0)
    private static let handoffLimit = 4_096
    private var lastFailureLogUs: Int64 = 0
    private var failuresSinceLog = 0

    init(settings: Settings, rings: [ClientRing], counters: LoadCounters, logger: Logger) {
        self.settings = settings
        self.rings = rings
        self.counters = counters
        self.logger = logger
        allocator = SourceEndpointAllocator(firstAddress: settings.firstSource, ports: settings.sourcePorts)
        precondition((1...255).contains(settings.gateways.count), "one to 255 gateways")
        shared = Mutex(
            Shared(failures: Array(repeating: 0, count: settings.connections), gatewayOf: Array(repeating: 0, count: settings.connections)))
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "connector"
        thread.start()
    }

    func stop() {
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
    }

    /// A ring lost this connection (or never got it): try again after a backoff.
    func connectionLost(_ connection: Int) {
        guard settings.reconnect else { return }
        shared.withLock { shared in
            let failures = Int(shared.failures[connection])
            let delay = ReconnectBackoff().delayMilliseconds(afterFailures: failures, using: &shared.random)
            shared.failures[connection] = UInt8(min(failures + 1, 255))
            // Its gateway may be gone for good: the next attempt goes to the next one, as a client with several URLs does.
            shared.gatewayOf[connection] = UInt8((Int(shared.gatewayOf[connection]) + 1) % settings.gateways.count)
            shared.reconnects.push(connection, due: Clock.monotonicMicroseconds() + delay * 1000)
        }
    }

    /// The connection completed its handshake: its backoff starts over.
    func connectionEstablished(_ connection: Int) {
        shared.withLock { $0.failures[connection] = 0 }
    }

    var reconnectsWaiting: Int { shared.withLock { $0.reconnects.count } }

    private func run() {
        let schedule = RampSchedule(total: settings.connections, rate: settings.rate)
        let start = ContinuousClock.now
        var next = 0
        // Reconnects share the ramp's rate: at most this many per pass of about 10 ms.
        let reconnectsPerPass = settings.rate > 0 ? max(1, Int(settings.rate / 100)) : 1000
        while !stopRequested.load(ordering: .acquiring) {
            var worked = false
            let due = schedule.due(after: ContinuousClock.now - start)
            while next < due && !stopRequested.load(ordering: .relaxed) {
                open(next)
                next += 1
                started.store(next, ordering: .relaxed)
                worked = true
                if next % 256 == 0 { break }
            }
            var reconnected = 0
            while reconnected < reconnectsPerPass, !stopRequested.load(ordering: .relaxed),
                  let connection = shared.withLock({ $0.reconnects.popDue(now: Clock.monotonicMicroseconds()) }) {
                open(connection)
                reconnected += 1
                worked = true
            }
            if !worked { usleep(next < settings.connections ? 500 : 10_000) }
        }
        finished.signal()
    }

    /// A ring adopted (or dropped) a descriptor this connector handed it.
    func handoffDone() {
        descriptorsInHandoff.subtract(1, ordering: .relaxed)
    }

    private func open(_ connection: Int) {
        let ring = rings[connection % rings.count]
        while descriptorsInHandoff.load(ordering: .relaxed) >= Self.handoffLimit, !stopRequested.load(ordering: .relaxed) {
            usleep(200)
        }
        let gateway = shared.withLock { Int($0.gatewayOf[connection]) }
        // A busy source endpoint (left over from an earlier run) just means: take the next one.
        for _ in 0..<64 {
            let source = settings.bindSources ? allocator.next() : nil
            counters.add(.connectAttempts)
            let startedUs = Clock.monotonicMicroseconds()
            do {
                let fd = try ClientSocket.connect(
                    to: settings.gateways[gateway], from: source, timeoutMilliseconds: settings.connectTimeoutMilliseconds)
                latency.record(.connect, microseconds: Clock.monotonicMicroseconds() - startedUs)
                counters.add(.connected)
                descriptorsInHandoff.add(1, ordering: .relaxed)
                ring.hand(fd: fd, connection: connection, gateway: gateway)
                return
            } catch {
                switch ConnectFailure(error) {
                case .endpointBusy where source != nil:
                    counters.add(.sourceEndpointsBusy)
                    continue
                case .endpointBusy, .gatewayUnavailable, .resources:
                    counters.add(.connectFailures)
                    logFailure(error)
                    connectionLost(connection)
                    return
                }
            }
        }
        counters.add(.connectFailures)
        connectionLost(connection)
    }

    /// At most one line every five seconds, however many connects fail.
    private func logFailure(_ error: SystemError) {
        failuresSinceLog += 1
        let now = Clock.monotonicMicroseconds()
        guard now - lastFailureLogUs >= 5_000_000 else { return }
        logger.warning("connect failed \(failuresSinceLog) time(s), last: \(error); retrying with backoff")
        lastFailureLogUs = now
        failuresSinceLog = 0
    }
}

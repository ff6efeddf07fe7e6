// The adapter between one ring and its connections' sessions: ring events go to the slot's
// `ConnectionSession`, and what the session asks for is done here on the ring (`RingSink`).
// Delivery to subscribers (live, lagging, resumed) is in GatewayRing+Delivery.swift. Runs on
// the ring's thread only.
import Foundation
import Logging
import RingTLS
import StadiumProtocol
import UringIO
import WebSocket

final class GatewayRing: RingLoopHandler {
    let index: Int
    let configuration: GatewayConfiguration
    let hub: FanoutHub
    private let inbox: RingInbox
    let route: PublishRoute
    let routes: HTTPRoutes
    let metrics: GatewayMetrics
    let rules: SessionRules
    /// On a TLS listener, every slot's TLS (GatewayRing+TLS.swift); nil for plaintext.
    let tls: TLSConnections?

    var sessions: [ConnectionSession]
    var connectionIDs: [UInt32]
    /// Per slot: permessage-deflate was agreed, so messages go in their compressed form when they have one.
    var compressedSlots: [Bool]
    private var nextConnectionID: UInt32 = 1
    var subscriptions: SubscriptionTable
    private let addressLimiter: AddressLimiter?
    /// The address each slot was counted under, to release it on close (only with a limiter).
    private var admittedAddresses: [PeerAddress?]
    private var warnedPeerAddressUnavailable = false
    private let logger: Logger
    /// Monotonic nanoseconds since `epoch`, refreshed every tick: liveness needs no finer clock.
    var coarseNow: Int64 = 0
    /// Seconds since 1970 as of the last tick: token expiry is judged in whole seconds, and the
    /// trust sweep would otherwise read the clock once per connection.
    var coarseUnixNow = Int64(Date().timeIntervalSince1970)
    private let epoch = ContinuousClock.now
    private var nextTrustSweep: Int64 = 0
    /// Open connections by the second their trust check is next due: a tick looks only at those.
    fileprivate var trustWheel: DeadlineWheel
    private var dueForTrust: [UInt32] = []
    /// Connections still in their HTTP phase, oldest first; the timeout is the same for all.
    private var handshakeDeadlines: [(slot: UInt32, connection: UInt32, deadline: ContinuousClock.Instant)] = []
    private var handshakeDeadlinesHead = 0
    private var inboxBatch: [InboxMessage] = []
    /// Frames that found a connection's send queue full, in order: replies (a client may pipeline
    /// many pubs and read the oks as they come) and records read back from Kafka for a resume.
    /// Sent before anything else as the queue drains.
    var backlogs: [UInt32: Backlog] = [:]
    /// A client that lets this many replies pile up is not reading them.
    let maxBacklogReplies = 1024
    /// Per connection, the subjects whose missed records are being read from Kafka, with the
    /// request each waits for: they take nothing from history or live until those records are
    /// in the backlog.
    var recovering: [UInt32: [UInt32: UInt64]] = [:]
    var nextRecoveryRequest: UInt64 = 1
    /// Per connection, subjects resumed on this gateway before it had read as far as the client's
    /// `since` (it started late, or its consumer is behind): messages up to that seq are the
    /// client's already and are passed over; the subscription stays on history until past it.
    var seqFloors: [UInt32: [UInt32: Int64]] = [:]
    /// Per connection, subjects without a key resumed with a cursor: what the client has per partition.
    var cursorResumes: [UInt32: [UInt32: CursorResume]] = [:]
    /// The subjects a `sub` has just joined, kept from its `subscribe` to its `startDelivery`, with
    /// the version its ok's positions hold at (subjects without a key read from Kafka).
    var joining: [(subject: SubjectID, name: String, positionsAt: UInt64?)] = []

    /// A cursor resume: per partition the offset through which the client has the subject
    /// (history passes over those), and how many partitions' reads from Kafka it still waits for.
    struct CursorResume {
        var floors: [Int32: Int64]
        var waiting: Int
    }

    struct Backlog {
        /// Frames from `head` on wait; sent ones before it are dropped in batches, not one by one.
        var frames: [FrameHandle] = []
        var head = 0
        var replies = 0
        var waiting: ArraySlice<FrameHandle> { frames[head...] }
    }

    init(
        index: Int, slots: Int, configuration: GatewayConfiguration, hub: FanoutHub, inbox: RingInbox,
        route: PublishRoute, routes: HTTPRoutes, metrics: GatewayMetrics, addressLimiter: AddressLimiter? = nil,
        tls: TLSConnections? = nil, logger: Logger = Logger(label: "stadium.gateway")
    ) {
        self.tls = tls
        self.addressLimiter = addressLimiter
        self.logger = logger
        admittedAddresses = addressLimiter == nil ? [] : Array(repeating: nil, count: slots)
        self.index = index
        self.configuration = configuration
        self.hub = hub
        self.inbox = inbox
        self.route = route
        self.routes = routes
        self.metrics = metrics
        rules = SessionRules(configuration, frames: hub.frames)
        sessions = Array(repeating: ConnectionSession(), count: slots)
        connectionIDs = Array(repeating: 0, count: slots)
        compressedSlots = Array(repeating: false, count: slots)
        subscriptions = SubscriptionTable(slots: slots)
        trustWheel = DeadlineWheel(slots: slots, now: 0)
    }

    // MARK: - Ring events

    func connectionOpened(_ loop: RingLoop, slot: UInt32) {
        let index = Int(slot)
        guard hub.isAccepting else {
            // Shutting down: the connection is refused before it says anything.
            metrics.count(.refusedShuttingDown)
            loop.close(slot, .now)
            return
        }
        sessions[index] = ConnectionSession(now: coarseNow, rules: rules)
        connectionIDs[index] = nextConnectionID
        nextConnectionID &+= 1
        handshakeDeadlines.append((slot, connectionIDs[index], .now + configuration.handshakeTimeout))
        trustWheel.schedule(slot, at: coarseSecond + 1)
        if let tls, !tls.opened(slot) {
            metrics.count(.tlsHandshake)
            loop.close(slot, .now)
        }
    }

    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        if let tls {
            receiveTLS(loop, slot: slot, bytes, tls)
            return bytes.count
        }
        var sink = RingSink(ring: self, loop: loop, slot: slot)
        // Above the ring the bytes are a span: the compiler keeps them from outliving this call.
        var span = bytes.mutableBytes
        return sessions[Int(slot)].received(&span, now: coarseNow, rules: rules, into: &sink)
    }

    func connectionPeerAddress(_ loop: RingLoop, slot: UInt32, address: PeerAddress?) {
        guard let addressLimiter else { return }
        let index = Int(slot)
        guard let address else {
            if !warnedPeerAddressUnavailable {
                warnedPeerAddressUnavailable = true
                logger.warning("the kernel does not report peer addresses (io_uring socket commands need Linux 6.7): --max-connections-per-address is not enforced")
            }
            return
        }
        if addressLimiter.admit(address) {
            admittedAddresses[index] = address
            return
        }
        metrics.count(.tooManyFromAddress)
        if let tls, tls.isHandshaking(slot) {
            // No TLS yet to carry a 503: the connection just ends.
            loop.close(slot, .now)
            return
        }
        var sink = RingSink(ring: self, loop: loop, slot: slot)
        sessions[index].refuse(
            reason: "too many connections from \(address) (at most \(addressLimiter.limit))", rules: rules, into: &sink)
    }

    func connectionClosed(_ loop: RingLoop, slot: UInt32) {
        if let tls, tls.closed(slot) { metrics.count(.tlsTruncated) }
        if let address = admittedAddresses.isEmpty ? nil : admittedAddresses[Int(slot)] {
            addressLimiter?.release(address)
            admittedAddresses[Int(slot)] = nil
        }
        forgetDelivery(slot)
        trustWheel.unschedule(slot)
        sessions[Int(slot)].ended()
        connectionIDs[Int(slot)] = 0
        compressedSlots[Int(slot)] = false
    }

    func loopWoken(_ loop: RingLoop) {
        inbox.drain(into: &inboxBatch)
        for message in inboxBatch {
            switch message {
            case .deliver(let subject, let posted, let version):
                let frame = OwnedFrame(adopting: posted, from: hub.frames)
                subscriptions.forEachSubscriber(of: subject, version: version) { slot in
                    offerLive(loop, slot: slot, frame)
                }
            case .reply(let slot, let connection, let posted):
                let frame = OwnedFrame(adopting: posted, from: hub.frames)
                if connectionIDs[Int(slot)] == connection { enqueue(loop, slot: slot, frame) }
            case .replyLost(let slot, let connection):
                guard connectionIDs[Int(slot)] == connection else { continue }
                metrics.count(.replyDropped)
                var sink = RingSink(ring: self, loop: loop, slot: slot)
                sink.closeWebSocket(code: .internalError, reason: "a reply could not be encoded", writer: rules.writer)
            case .recovered(let delivery):
                continueAfterRecovery(loop, delivery)
            }
        }
        inboxBatch.removeAll(keepingCapacity: true)
    }

    func loopTicked(_ loop: RingLoop) {
        let now = ContinuousClock.now
        coarseNow = TrustPolicy.nanoseconds(now - epoch)
        coarseUnixNow = Int64(Date().timeIntervalSince1970)
        while handshakeDeadlinesHead < handshakeDeadlines.count,
              handshakeDeadlines[handshakeDeadlinesHead].deadline <= now {
            let (slot, connection, _) = handshakeDeadlines[handshakeDeadlinesHead]
            handshakeDeadlinesHead += 1
            guard connectionIDs[Int(slot)] == connection else { continue }
            if let tls, tls.isHandshaking(slot) {
                // No TLS yet, so no HTTP 408 can be read: the connection just ends.
                metrics.count(.handshakeTimeout)
                loop.close(slot, .now)
                continue
            }
            var sink = RingSink(ring: self, loop: loop, slot: slot)
            sessions[Int(slot)].handshakeExpired(rules: rules, into: &sink)
        }
        checkTrustDue(loop)
        if coarseNow >= nextTrustSweep {
            nextTrustSweep = coarseNow + 1_000_000_000
            sweepLagging(loop)
            tls?.ticked()
        }
        if handshakeDeadlinesHead > 1024 && handshakeDeadlinesHead * 2 > handshakeDeadlines.count {
            handshakeDeadlines.removeFirst(handshakeDeadlinesHead)
            handshakeDeadlinesHead = 0
        }
    }

    /// The trust checks due by now (pings, token warnings, expiries, idle closes); each connection
    /// is put back at the second its next one is due.
    private func checkTrustDue(_ loop: RingLoop) {
        let second = coarseSecond
        trustWheel.takeDue(through: second, into: &dueForTrust)
        for slot in dueForTrust where loop.isOpen(slot: slot) {
            let index = Int(slot)
            switch sessions[index].phase {
            case .http:
                // Not upgraded yet: the handshake timeout watches it; look again next second.
                trustWheel.schedule(slot, at: second + 1)
            case .webSocket:
                var sink = RingSink(ring: self, loop: loop, slot: slot)
                sessions[index].checkTrust(now: coarseNow, rules: rules, into: &sink)
                guard loop.isOpen(slot: slot),
                      let wait = sessions[index].nanosecondsUntilTrustCheck(now: coarseNow, unixNow: coarseUnixNow, rules: rules)
                else { continue }
                trustWheel.schedule(slot, at: (coarseNow + wait + 999_999_999) / 1_000_000_000)
            case .closing, .free:
                break
            }
        }
        dueForTrust.removeAll(keepingCapacity: true)
    }

    /// Whole seconds of `coarseNow`: the trust checks' resolution.
    fileprivate var coarseSecond: Int64 { coarseNow / 1_000_000_000 }

    func connectionDrained(_ loop: RingLoop, slot: UInt32) {
        guard loop.isOpen(slot: slot) else { return }
        if !sendBacklog(loop, slot: slot) { return }
        feedFromHistory(loop, slot: slot)
    }

    func loopStopping(_ loop: RingLoop) {
        // Replies that arrived with the stop request still go out before the close frames.
        loopWoken(loop)
        for slot in sessions.indices {
            var sink = RingSink(ring: self, loop: loop, slot: UInt32(slot))
            sessions[slot].shutDown(rules: rules, into: &sink)
        }
    }

    // MARK: - Sending

    /// Queues a frame, behind any backlog already waiting; a client that lets its replies pile
    /// up is not reading and is disconnected (1008).
    func enqueue(_ loop: RingLoop, slot: UInt32, _ frame: borrowing OwnedFrame) {
        guard loop.isOpen(slot: slot) else { return }
        if !hasBacklog(slot) {
            switch loop.send(slot: slot, frame: wireForm(frame.handle, slot: slot)) {
            case .queued, .closed:
                return
            case .queueFull:
                backlogs[slot] = Backlog()
                loop.notifyWhenDrained(slot: slot)
            }
        }
        guard backlogs[slot]!.replies < maxBacklogReplies else {
            metrics.count(.slowConsumer)
            dropBacklog(slot)
            closeBehind(loop, slot: slot, reason: "send queue full: replies not read")
            return
        }
        backlogs[slot]!.frames.append(frame.retained().handOver())
        backlogs[slot]!.replies += 1
    }

    /// The form of `frame` this connection is sent: its compressed one (made by the first such
    /// connection of any ring) if the connection agreed to permessage-deflate and the message
    /// gains from it. Valid while the caller holds `frame`.
    @inline(__always)
    func wireForm(_ frame: FrameHandle, slot: UInt32) -> FrameHandle {
        guard compressedSlots[Int(slot)], let compressed = hub.compressedForm(of: frame) else { return frame }
        return compressed
    }

    /// Most rings have no backlog at all: the fan-out loop skips the lookup then.
    @inline(__always)
    func hasBacklog(_ slot: UInt32) -> Bool {
        !backlogs.isEmpty && backlogs[slot] != nil
    }

    /// Monotonic nanoseconds since the ring started.
    var preciseNow: Int64 { TrustPolicy.nanoseconds(.now - epoch) }
}

/// What a session's actions mean on this ring, for one slot.
struct RingSink: SessionSink {
    // A sink lives only inside one of the ring's callbacks, which the ring and its loop outlive:
    // no retain and release per event (the trust sweep makes one per connection each second).
    unowned(unsafe) let ring: GatewayRing
    unowned(unsafe) let loop: RingLoop
    let slot: UInt32

    var preciseNow: Int64 { ring.preciseNow }
    var unixNow: Int64 { ring.coarseUnixNow }
    var isOpen: Bool { loop.isOpen(slot: slot) }
    var acceptsPublishes: Bool { ring.hub.isAccepting }

    func send(_ frame: consuming OwnedFrame, final: Bool) {
        if final {
            // A close frame goes past any backlog: it may use the queue entry kept free for it.
            _ = loop.send(slot: slot, frame: frame.handle, final: true)
        } else {
            ring.enqueue(loop, slot: slot, frame)
        }
    }

    func close(_ mode: CloseMode) {
        loop.close(slot, mode)
    }

    func compressionAgreed() {
        ring.compressedSlots[Int(slot)] = true
    }

    func trustCheckMoved() {
        ring.trustWheel.schedule(slot, at: ring.coarseSecond + 1)
    }

    func count(_ event: SessionCount) {
        switch event {
        case .frameReceived: ring.metrics.framesReceived.increment()
        case .httpRequest: ring.metrics.httpRequests.increment()
        case .error(let kind): ring.metrics.count(kind)
        }
    }

    func respond(to head: HTTPRequestHead) -> [UInt8] {
        ring.routes.respond(to: head)
    }

    func publish(id: Int64?, subject: String, data: RawSpan, user: String) {
        let address = ReplyAddress(
            ring: ring.index, slot: slot, connection: ring.connectionIDs[Int(slot)], requestID: id)
        ring.route.publish(subject: subject, data: data, user: user, replyTo: address)
    }

    func subscribe(names: [String], limit: Int) -> [String: [Int32: Int64]]? {
        ring.subscribe(loop, slot: slot, names, limit: limit)
    }

    func startDelivery(since: [String: Int64], cursors: [String: [Int32: Int64]]) {
        ring.startDelivery(loop, slot: slot, since: since, cursors: cursors)
    }

    func unsubscribe(names: [String]) {
        ring.unsubscribe(slot: slot, names)
    }
}

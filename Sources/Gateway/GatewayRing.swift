// The protocol side of one ring: HTTP head, WebSocket upgrade, protocol v1 requests, and
// delivery of fanned-out frames to this ring's subscribers. Runs on the ring's thread only.
import Foundation
import Logging
import StadiumProtocol
import UringIO
import WebSocket

enum ConnectionPhase: UInt8 {
    case free
    /// Waiting for a complete HTTP request head.
    case http
    case webSocket
    /// A close frame or final HTTP response is on its way; input is ignored.
    case closing
}

final class GatewayRing: RingLoopHandler {
    let index: Int
    private let configuration: GatewayConfiguration
    private let hub: FanoutHub
    private let inbox: RingInbox
    private let route: PublishRoute
    private let routes: HTTPRoutes
    private let metrics: GatewayMetrics
    private let writer: FrameWriter

    private var phase: [ConnectionPhase]
    private var readers: [WebSocketReader]
    private var connectionIDs: [UInt32]
    private var nextConnectionID: UInt32 = 1
    private var subscriptions: SubscriptionTable
    private var trust: ConnectionTrust
    private let addressLimiter: AddressLimiter?
    /// The address each slot was counted under, to release it on close (only with a limiter).
    private var admittedAddresses: [PeerAddress?]
    private var warnedPeerAddressUnavailable = false
    private let logger: Logger
    /// Monotonic nanoseconds since `epoch`, refreshed every tick: liveness needs no finer clock.
    private var coarseNow: Int64 = 0
    private let epoch = ContinuousClock.now
    private var nextTrustSweep: Int64 = 0
    /// Connections still in their HTTP phase, oldest first; the timeout is the same for all.
    private var handshakeDeadlines: [(slot: UInt32, connection: UInt32, deadline: ContinuousClock.Instant)] = []
    private var handshakeDeadlinesHead = 0
    private var inboxBatch: [InboxMessage] = []
    /// Frames that found a connection's send queue full, in order: replies (a client may pipeline
    /// many pubs and read the oks as they come) and records read back from Kafka for a resume.
    /// Sent before anything else as the queue drains.
    private var backlogs: [UInt32: Backlog] = [:]
    /// A client that lets this many replies pile up is not reading them.
    private let maxBacklogReplies = 1024
    /// Per connection, the subjects whose missed records are being read from Kafka, with the
    /// request each waits for: they take nothing from history or live until those records are
    /// in the backlog.
    private var recovering: [UInt32: [UInt32: UInt64]] = [:]
    private var nextRecoveryRequest: UInt64 = 1
    /// Per connection, subjects resumed on this gateway before it had read as far as the client's
    /// `since` (it started late, or its consumer is behind): messages up to that seq are the
    /// client's already and are passed over; the subscription stays on history until past it.
    private var seqFloors: [UInt32: [UInt32: Int64]] = [:]

    private struct Backlog {
        /// Frames from `head` on wait; sent ones before it are dropped in batches, not one by one.
        var frames: [FrameHandle] = []
        var head = 0
        var replies = 0
        var waiting: ArraySlice<FrameHandle> { frames[head...] }
    }

    init(
        index: Int, slots: Int, configuration: GatewayConfiguration, hub: FanoutHub, inbox: RingInbox,
        route: PublishRoute, routes: HTTPRoutes, metrics: GatewayMetrics, addressLimiter: AddressLimiter? = nil,
        logger: Logger = Logger(label: "stadium.gateway")
    ) {
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
        self.writer = FrameWriter(frames: hub.frames)
        phase = Array(repeating: .free, count: slots)
        readers = Array(
            repeating: WebSocketReader(role: .server, maxMessageBytes: configuration.maxMessageBytes), count: slots)
        connectionIDs = Array(repeating: 0, count: slots)
        subscriptions = SubscriptionTable(slots: slots)
        trust = ConnectionTrust(slots: slots, policy: TrustPolicy(configuration))
    }

    // MARK: - Ring events

    func connectionOpened(_ loop: RingLoop, slot: UInt32) {
        let index = Int(slot)
        guard hub.isAccepting else {
            // Shutting down: the connection is refused before it says anything.
            metrics.count(.refusedShuttingDown)
            phase[index] = .closing
            loop.close(slot, .now)
            return
        }
        phase[index] = .http
        trust.opened(index, now: coarseNow)
        readers[index] = WebSocketReader(role: .server, maxMessageBytes: configuration.maxMessageBytes)
        connectionIDs[index] = nextConnectionID
        nextConnectionID &+= 1
        handshakeDeadlines.append((slot, connectionIDs[index], .now + configuration.handshakeTimeout))
    }

    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        trust.heard(Int(slot), now: coarseNow)
        switch phase[Int(slot)] {
        case .http:
            return receiveHTTP(loop, slot: slot, bytes: bytes)
        case .webSocket:
            return receiveFrames(loop, slot: slot, bytes: bytes)
        case .closing, .free:
            return bytes.count
        }
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
        let reason = "too many connections from \(address) (at most \(addressLimiter.limit))"
        switch phase[index] {
        case .http:
            respondHTTP(loop, slot: slot, HTTPResponse.text(status: 503, reason))
        case .webSocket:
            closeWebSocket(loop, slot: slot, code: .tryAgainLater, reason: reason)
        default:
            break
        }
    }

    func connectionClosed(_ loop: RingLoop, slot: UInt32) {
        if let address = admittedAddresses.isEmpty ? nil : admittedAddresses[Int(slot)] {
            addressLimiter?.release(address)
            admittedAddresses[Int(slot)] = nil
        }
        let count = subscriptions.count(of: slot)
        if count > 0 { metrics.subscriptions.decrement(by: Double(count)) }
        dropBacklog(slot)
        recovering[slot] = nil
        seqFloors[slot] = nil
        for subject in subscriptions.removeAll(slot) { hub.subjects.leave(subject) }
        phase[Int(slot)] = .free
        connectionIDs[Int(slot)] = 0
    }

    func loopWoken(_ loop: RingLoop) {
        inbox.drain(into: &inboxBatch)
        for message in inboxBatch {
            switch message {
            case .deliver(let subject, let frame, let version):
                subscriptions.forEachSubscriber(of: subject, version: version) { slot in
                    offerLive(loop, slot: slot, frame)
                }
                hub.frames.release(frame)
            case .reply(let slot, let connection, let frame):
                if connectionIDs[Int(slot)] == connection { enqueue(loop, slot: slot, frame) }
                hub.frames.release(frame)
            case .recovered(let delivery):
                continueAfterRecovery(loop, delivery)
            }
        }
        inboxBatch.removeAll(keepingCapacity: true)
    }

    func loopTicked(_ loop: RingLoop) {
        let now = ContinuousClock.now
        coarseNow = TrustPolicy.nanoseconds(now - epoch)
        while handshakeDeadlinesHead < handshakeDeadlines.count,
              handshakeDeadlines[handshakeDeadlinesHead].deadline <= now {
            let (slot, connection, _) = handshakeDeadlines[handshakeDeadlinesHead]
            handshakeDeadlinesHead += 1
            guard connectionIDs[Int(slot)] == connection else { continue }
            if phase[Int(slot)] == .http {
                metrics.count(.handshakeTimeout)
                respondHTTP(loop, slot: slot, HTTPResponse.text(status: 408, "request head not received in time"))
            } else if phase[Int(slot)] == .webSocket && trust.identities[Int(slot)] == nil {
                metrics.count(.unauthorized)
                closeWebSocket(loop, slot: slot, code: .policyViolation, reason: "no auth message in time")
            }
        }
        if coarseNow >= nextTrustSweep {
            nextTrustSweep = coarseNow + 1_000_000_000
            sweepTrust(loop)
            sweepLagging(loop)
        }
        if handshakeDeadlinesHead > 1024 && handshakeDeadlinesHead * 2 > handshakeDeadlines.count {
            handshakeDeadlines.removeFirst(handshakeDeadlinesHead)
            handshakeDeadlinesHead = 0
        }
    }

    func connectionDrained(_ loop: RingLoop, slot: UInt32) {
        guard phase[Int(slot)] == .webSocket else { return }
        if !sendBacklog(loop, slot: slot) { return }
        feedFromHistory(loop, slot: slot)
    }

    func loopStopping(_ loop: RingLoop) {
        // Replies that arrived with the stop request still go out before the close frames.
        loopWoken(loop)
        for slot in 0..<phase.count {
            switch phase[slot] {
            case .webSocket:
                closeWebSocket(loop, slot: UInt32(slot), code: .goingAway, reason: "gateway shutting down")
            case .http:
                loop.close(UInt32(slot), .now)
            case .closing, .free:
                break
            }
        }
    }

    // MARK: - HTTP phase

    private func receiveHTTP(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch HTTPRequestParser.parse(UnsafeRawBufferPointer(bytes), maxHeaderBytes: configuration.maxHeaderBytes) {
        case .incomplete:
            return 0
        case .tooLarge:
            metrics.count(.headersTooLarge)
            respondHTTP(loop, slot: slot, HTTPResponse.text(status: 431, "request headers exceed 8 KiB"))
            return bytes.count
        case .malformed(let reason):
            metrics.count(.malformedHTTP)
            respondHTTP(loop, slot: slot, HTTPResponse.text(status: 400, reason))
            return bytes.count
        case .complete(let head, let consumed):
            switch WebSocketHandshake.evaluate(head) {
            case .upgrade(let response, _):
                if trust.requiresToken, let token = Self.presentedToken(head) {
                    if case .rejected(let rejection) = trust.authenticate(Int(slot), token: token, unixNow: Self.unixNow()) {
                        metrics.count(.unauthorized)
                        respondHTTP(loop, slot: slot, Self.unauthorizedResponse(rejection))
                        return bytes.count
                    }
                }
                guard let frame = try? writer.raw(response) else {
                    loop.close(slot, .now)
                    return bytes.count
                }
                phase[Int(slot)] = .webSocket
                enqueue(loop, slot: slot, frame)
                hub.frames.release(frame)
                let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
                return consumed + (rest.isEmpty ? 0 : receiveFrames(loop, slot: slot, bytes: rest))
            case .notWebSocket:
                metrics.httpRequests.increment()
                respondHTTP(loop, slot: slot, routes.respond(to: head))
                return bytes.count
            case .reject(let status, let reason):
                metrics.count(.badUpgrade)
                respondHTTP(loop, slot: slot, WebSocketHandshake.rejectionResponse(status: status, reason: reason))
                return bytes.count
            }
        }
    }

    /// Sends a complete HTTP response and closes once it is written.
    private func respondHTTP(_ loop: RingLoop, slot: UInt32, _ response: [UInt8]) {
        phase[Int(slot)] = .closing
        if let frame = try? writer.raw(response) {
            _ = loop.send(slot: slot, frame: frame)
            hub.frames.release(frame)
        }
        loop.close(slot, .afterFlush)
    }

    // MARK: - WebSocket phase

    private func receiveFrames(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        let outcome = readers[Int(slot)].consume(bytes) { event in
            handle(loop, slot: slot, event)
        }
        switch outcome {
        case .consumed(let count):
            return count
        case .fail(let code, let reason):
            metrics.count(Self.errorKind(for: code))
            closeWebSocket(loop, slot: slot, code: code, reason: reason)
            return bytes.count
        }
    }

    private static func errorKind(for code: CloseCode) -> ErrorKind {
        switch code {
        case .messageTooBig: return .messageTooBig
        case .invalidPayloadData: return .invalidUTF8
        default: return .protocolError
        }
    }

    private func handle(_ loop: RingLoop, slot: UInt32, _ event: WebSocketEvent) {
        guard phase[Int(slot)] == .webSocket else { return }
        switch event {
        case .text(let payload):
            metrics.framesReceived.increment()
            handleRequest(loop, slot: slot, payload)
        case .binary:
            metrics.count(.unsupportedData)
            closeWebSocket(loop, slot: slot, code: .unsupportedData, reason: "protocol v1 uses text frames")
        case .ping(let payload):
            if let pong = try? writer.control(.pong, payload: payload) {
                enqueue(loop, slot: slot, pong)
                hub.frames.release(pong)
            }
        case .pong:
            break
        case .close(let code, _):
            // Echo the peer's code (RFC 6455 5.5.1); a close without a code is answered with 1000.
            closeWebSocket(loop, slot: slot, code: code ?? .normalClosure, reason: "")
        }
    }

    /// Sends a close frame and closes the connection once it is written.
    private func closeWebSocket(_ loop: RingLoop, slot: UInt32, code: CloseCode, reason: String) {
        phase[Int(slot)] = .closing
        if let frame = try? writer.close(code: code, reason: reason) {
            _ = loop.send(slot: slot, frame: frame, final: true)
            hub.frames.release(frame)
        }
        loop.close(slot, .afterFlush)
    }

    // MARK: - Protocol v1

    private func handleRequest(_ loop: RingLoop, slot: UInt32, _ payload: UnsafeRawBufferPointer) {
        switch ClientRequestParser.parse(payload) {
        case .failure(let error):
            metrics.count(error.code == .badSubject ? .badSubject : .badRequest)
            replyError(loop, slot: slot, id: error.id, code: error.code, message: error.message)
        case .success(let request):
            guard let identity = trust.identities[Int(slot)] else {
                authenticateFirst(loop, slot: slot, request)
                return
            }
            switch request {
            case .sub(let id, let names, let since):
                if let denied = names.first(where: { !identity.entitlements.maySubscribe(to: $0) }) {
                    metrics.count(.forbidden)
                    replyError(loop, slot: slot, id: id, code: .forbidden, message: "may not subscribe to \(denied)")
                    return
                }
                subscribe(loop, slot: slot, id: id, names, since: since)
            case .unsub(let id, let names):
                for name in names {
                    if let subject = hub.subjects.existingID(for: name), subscriptions.remove(slot, from: subject) {
                        stopRecovering(slot, subject)
                        setSeqFloor(slot, subject, nil)
                        hub.subjects.leave(subject)
                        metrics.subscriptions.decrement()
                    }
                }
                replyOK(loop, slot: slot, id: id)
            case .pub(let id, let subject, let data):
                guard hub.isAccepting else {
                    replyError(
                        loop, slot: slot, id: id, code: .kafkaUnavailable,
                        message: "gateway shutting down; reconnect and publish again")
                    return
                }
                guard trust.mayPublishNow(Int(slot), now: TrustPolicy.nanoseconds(.now - epoch)) else {
                    metrics.count(.rateLimited)
                    replyError(loop, slot: slot, id: id, code: .rateLimited, message: rateLimitMessage)
                    return
                }
                guard identity.entitlements.mayPublish(to: subject) else {
                    metrics.count(.forbidden)
                    replyError(loop, slot: slot, id: id, code: .forbidden, message: "may not publish to \(subject)")
                    return
                }
                let address = ReplyAddress(
                    ring: index, slot: slot, connection: connectionIDs[Int(slot)], requestID: id)
                route.publish(
                    subject: subject, data: UnsafeRawBufferPointer(rebasing: payload[data]), user: identity.user,
                    replyTo: address)
            case .auth(let id, let token):
                authenticate(loop, slot: slot, id: id, token: token)
            }
        }
    }

    // MARK: - Trust

    /// A `jwt` connection that has no identity yet may only send `auth`.
    private func authenticateFirst(_ loop: RingLoop, slot: UInt32, _ request: ClientRequest) {
        guard case .auth(let id, let token) = request else {
            metrics.count(.unauthorized)
            closeWebSocket(
                loop, slot: slot, code: .policyViolation,
                reason: "authenticate first: {\"op\":\"auth\",\"token\":...}")
            return
        }
        authenticate(loop, slot: slot, id: id, token: token)
    }

    /// An auth message: a first token, or a fresh one for the same user before the old expires.
    private func authenticate(_ loop: RingLoop, slot: UInt32, id: Int64?, token: String) {
        switch trust.authenticate(Int(slot), token: token, unixNow: Self.unixNow()) {
        case .accepted:
            replyOK(loop, slot: slot, id: id)
        case .rejected(let rejection):
            metrics.count(.unauthorized)
            closeWebSocket(loop, slot: slot, code: .policyViolation, reason: Self.closeReason("\(rejection)"))
        }
    }

    /// Once a second: warns and closes on token expiry, pings silent connections, closes dead ones.
    private func sweepTrust(_ loop: RingLoop) {
        let unixNow = Self.unixNow()
        for index in 0..<phase.count where phase[index] == .webSocket {
            let slot = UInt32(index)
            switch trust.check(index, now: coarseNow, unixNow: unixNow) {
            case .nothing:
                break
            case .ping:
                if let ping = try? writer.control(.ping, payload: UnsafeRawBufferPointer(start: nil, count: 0)) {
                    enqueue(loop, slot: slot, ping)
                    hub.frames.release(ping)
                }
            case .warnExpiry(let expires):
                replyError(
                    loop, slot: slot, id: nil, code: .tokenExpiring,
                    message: "token expires at \(expires) (in \(max(0, expires - unixNow)) s); send auth with a fresh token to stay connected")
            case .closeExpired:
                metrics.count(.tokenExpired)
                closeWebSocket(loop, slot: slot, code: .policyViolation, reason: "token expired")
            case .closeIdle:
                metrics.count(.idleTimeout)
                closeWebSocket(loop, slot: slot, code: .goingAway, reason: "idle timeout: no answer to ping")
            }
        }
    }

    private var rateLimitMessage: String {
        "at most \(configuration.publishRate ?? 0) pubs per second (bursts of \(Int(configuration.publishBurst)))"
    }

    private func subscribe(_ loop: RingLoop, slot: UInt32, id: Int64?, _ names: [String], since: [String: Int64]) {
        let newCount = names.count { name in
            guard let subject = hub.subjects.existingID(for: name) else { return true }
            return !subscriptions.isSubscribed(slot, to: subject)
        }
        if subscriptions.count(of: slot) + newCount > configuration.maxSubscriptionsPerConnection {
            metrics.count(.tooManySubscriptions)
            replyError(
                loop, slot: slot, id: id, code: .tooManySubscriptions,
                message: "a connection may hold at most \(configuration.maxSubscriptionsPerConnection) subscriptions")
            return
        }
        var added: [(subject: SubjectID, name: String)] = []
        for name in names {
            let subject = hub.subjects.join(name, ring: loop.index)
            if subscriptions.add(slot, to: subject) {
                added.append((subject, name))
            } else {
                hub.subjects.leave(subject)  // it held this one already
            }
        }
        metrics.subscriptions.increment(by: Double(added.count))
        replyOK(loop, slot: slot, id: id)
        // A reconnecting subscriber gets what it missed; a new one the latest message, marked retained.
        var resuming = false
        for (subject, name) in added {
            if let lastSeen = since[name] {
                let coverage = hub.subjects.memoryCoverage(subject)
                if !resumeFromKafka(loop, slot: slot, subject: subject, name: name, afterSeq: lastSeen, coverage: coverage) {
                    resumeFromHistory(
                        loop, slot: slot, subject: subject, name: name, afterSeq: lastSeen, learnedPartition: coverage.partition)
                }
                resuming = true
                continue
            }
            guard let (frame, version) = hub.subjects.retained(subject) else { continue }
            subscriptions.noteRetainedSent(slot, subject: subject, version: version)
            enqueue(loop, slot: slot, frame)
            hub.frames.release(frame)
        }
        if resuming { feedFromHistory(loop, slot: slot) }
    }

    /// The gap (if messages after `afterSeq` are gone), then a position in the subject's history
    /// from which the held messages after it stream at the socket's pace, before the live ones.
    private func resumeFromHistory(
        _ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String, afterSeq: Int64, learnedPartition: Int32?
    ) {
        stopRecovering(slot, subject)
        let (gap, after) = hub.subjects.resumePoint(subject, afterSeq: afterSeq)
        if let gap {
            metrics.count(.historyGap)
            if let frame = try? writer.gap(subject: name, from: gap.lowerBound, to: gap.upperBound) {
                enqueue(loop, slot: slot, frame)
                hub.frames.release(frame)
            }
        }
        subscriptions.startLagging(slot, on: subject, after: after)
        // This gateway has not read as far as the client has: what comes up to its since is not news.
        var floor: Int64?
        if let recovery = hub.recovery,
           let partition = recovery.planner.partition(of: name, learned: learnedPartition),
           let next = recovery.nextToDeliver(partition), next <= afterSeq {
            floor = afterSeq
        }
        setSeqFloor(slot, subject, floor)
    }

    private func setSeqFloor(_ slot: UInt32, _ subject: SubjectID, _ floor: Int64?) {
        if let floor {
            seqFloors[slot, default: [:]][subject.rawValue] = floor
        } else if seqFloors[slot] != nil {
            seqFloors[slot]![subject.rawValue] = nil
            if seqFloors[slot]!.isEmpty { seqFloors[slot] = nil }
        }
    }

    /// When this gateway's memory does not reach back to `afterSeq` (it started later, another
    /// instance served the client, or its history let go), asks Kafka for the records in
    /// between; the subscription waits for them, then goes on from history. False: memory has all.
    private func resumeFromKafka(
        _ loop: RingLoop, slot: UInt32, subject: SubjectID, name: String, afterSeq: Int64,
        coverage: (partition: Int32?, evictedThrough: Int64?)
    ) -> Bool {
        guard let recovery = hub.recovery else { return false }
        guard let plan = recovery.planner.plan(
            subject: name, afterSeq: afterSeq, learnedPartition: coverage.partition, evictedThrough: coverage.evictedThrough,
            forgottenThrough: hub.subjects.forgottenThrough)
        else { return false }
        subscriptions.startLagging(slot, on: subject, after: 0)
        recovering[slot, default: [:]][subject.rawValue] = nextRecoveryRequest
        recovery.submit(KafkaRecovery.Request(
            plan: plan, subject: subject, subjectName: name, ring: index, slot: slot, connection: connectionIDs[Int(slot)],
            id: nextRecoveryRequest))
        nextRecoveryRequest += 1
        return true
    }

    /// Records read back from Kafka go out first (after a gap for any Kafka no longer has), then
    /// the subscription reads on from history right after the last offset Kafka gave.
    private func continueAfterRecovery(_ loop: RingLoop, _ delivery: KafkaRecovery.Delivery) {
        let slot = delivery.slot
        // An answer for a connection or subscription that is gone, or superseded by a newer sub.
        let current = connectionIDs[Int(slot)] == delivery.connection
            && recovering[slot]?[delivery.subject.rawValue] == delivery.id
        if current { stopRecovering(slot, delivery.subject) }
        guard current, phase[Int(slot)] == .webSocket, subscriptions.isLagging(slot, on: delivery.subject) else {
            for frame in delivery.frames { hub.frames.release(frame) }
            return
        }
        let name = hub.subjects.name(of: delivery.subject) ?? ""
        if let gap = delivery.gap { appendGap(slot, subject: name, gap) }
        for frame in delivery.frames { appendToBacklog(slot, frame) }
        metrics.messagesReplayed.increment(by: Int64(delivery.frames.count))
        let (gap, after) = hub.subjects.continuation(delivery.subject, afterSeq: delivery.through)
        if let gap { appendGap(slot, subject: name, gap) }
        subscriptions.advance(slot, on: delivery.subject, to: after)
        if sendBacklog(loop, slot: slot) { feedFromHistory(loop, slot: slot) }
    }

    private func stopRecovering(_ slot: UInt32, _ subject: SubjectID) {
        guard recovering[slot] != nil else { return }
        recovering[slot]![subject.rawValue] = nil
        if recovering[slot]!.isEmpty { recovering[slot] = nil }
    }

    private func appendGap(_ slot: UInt32, subject: String, _ gap: ClosedRange<Int64>) {
        metrics.count(.historyGap)
        guard let frame = try? writer.gap(subject: subject, from: gap.lowerBound, to: gap.upperBound) else { return }
        appendToBacklog(slot, frame)
    }

    /// Puts a frame at the end of the connection's backlog, taking over the caller's reference.
    private func appendToBacklog(_ slot: UInt32, _ frame: FrameHandle) {
        backlogs[slot, default: Backlog()].frames.append(frame)
    }

    // MARK: - Lagging subscriptions

    /// Live messages fill at most half the send queue; the rest is kept for replies.
    private var liveQueueFrames: Int { max(1, configuration.sendQueueFrames / 2) }
    private var liveQueueBytes: Int { configuration.sendQueueBytes / 2 }

    /// Queues a live message, or returns false when the connection's share of its queue is
    /// taken: the subscription then reads on from the subject's history as the socket drains.
    private func offerLive(_ loop: RingLoop, slot: UInt32, _ frame: FrameHandle) -> Bool {
        guard phase[Int(slot)] == .webSocket else { return true }
        if loop.queuedFrames(slot: slot) >= liveQueueFrames || loop.queuedBytes(slot: slot) >= liveQueueBytes
            || hasBacklog(slot) {
            metrics.subscriptionsFellBehind.increment()
            loop.notifyWhenDrained(slot: slot)
            return false
        }
        enqueue(loop, slot: slot, frame)
        return true
    }

    /// Tops up a lagging connection's queue from the histories of the subjects it lags on, in
    /// order from each one's position; a subscription that reaches the newest message goes live.
    private func feedFromHistory(_ loop: RingLoop, slot: UInt32) {
        guard phase[Int(slot)] == .webSocket, !hasBacklog(slot) else { return }
        for (subject, after) in historyPositions(of: slot) {
            let roomFrames = liveQueueFrames - loop.queuedFrames(slot: slot)
            let roomBytes = liveQueueBytes - loop.queuedBytes(slot: slot)
            guard roomFrames > 0, roomBytes > 0 else { break }
            let floor = seqFloors[slot]?[subject.rawValue]
            switch hub.subjects.read(subject, after: after, maxFrames: roomFrames, maxBytes: roomBytes, skipThroughSeq: floor) {
            case .caughtUp:
                // With a floor this gateway has not yet read up to the client's since: wait on history.
                if floor == nil { subscriptions.caughtUp(slot, on: subject, version: after) }
            case .outOfHistory:
                dropFellOutOfHistory(loop, slot: slot)
                return
            case .frames(let frames, let through, let caughtUp):
                metrics.messagesReplayed.increment(by: Int64(frames.count))
                for frame in frames {
                    enqueue(loop, slot: slot, frame)
                    hub.frames.release(frame)
                }
                var pastFloor = true
                if let floor {
                    pastFloor = (hub.subjects.seq(subject, atVersion: through) ?? .min) >= floor
                    if pastFloor { setSeqFloor(slot, subject, nil) }
                }
                if caughtUp && pastFloor {
                    subscriptions.caughtUp(slot, on: subject, version: through)
                } else {
                    subscriptions.advance(slot, on: subject, to: through)
                }
            }
        }
        if phase[Int(slot)] == .webSocket && !historyPositions(of: slot).isEmpty {
            loop.notifyWhenDrained(slot: slot)
        }
    }

    /// The subjects `slot` reads from history now, with its position in each: those waiting for
    /// records from Kafka come after them and are left out until the records are in its backlog.
    private func historyPositions(of slot: UInt32) -> [(subject: SubjectID, after: UInt64)] {
        let positions = subscriptions.lagPositions(of: slot)
        guard let waitingForKafka = recovering[slot] else { return positions }
        return positions.filter { waitingForKafka[$0.subject.rawValue] == nil }
    }

    /// Once a second: closes lagging connections that are too far behind (a client that stopped
    /// reading ends here), and feeds any whose drain notice did not come.
    private func sweepLagging(_ loop: RingLoop) {
        let maxLagNanoseconds = TrustPolicy.nanoseconds(configuration.maxLagDuration)
        let now = hub.subjects.now
        // Connections reading from history, and those with a backlog (replies, records from Kafka).
        let behind = Set(subscriptions.laggingSlots).union(backlogs.keys)
        for slot in behind where phase[Int(slot)] == .webSocket {
            var behindBytes = loop.queuedBytes(slot: slot) + backlogBytes(slot)
            var oldest: Int64?
            for (subject, after) in historyPositions(of: slot) {
                guard let lag = hub.subjects.lag(subject, after: after) else {
                    dropFellOutOfHistory(loop, slot: slot)
                    break
                }
                behindBytes += lag.bytes
                if let at = lag.oldestAt { oldest = min(oldest ?? at, at) }
            }
            guard phase[Int(slot)] == .webSocket else { continue }
            let behindNanoseconds = oldest.map { now - $0 } ?? 0
            if behindBytes > configuration.maxLagBytes || behindNanoseconds > maxLagNanoseconds {
                metrics.count(.slowConsumer)
                let reason = behindBytes > configuration.maxLagBytes
                    ? "reading too slowly: \(behindBytes) bytes behind (at most \(configuration.maxLagBytes))"
                    : "reading too slowly: \(behindNanoseconds / 1_000_000_000) s behind (at most \(maxLagNanoseconds / 1_000_000_000))"
                closeBehind(loop, slot: slot, reason: reason)
            } else if loop.queuedFrames(slot: slot) <= loop.drainLowWater, sendBacklog(loop, slot: slot) {
                feedFromHistory(loop, slot: slot)
            }
        }
    }

    private func dropFellOutOfHistory(_ loop: RingLoop, slot: UInt32) {
        metrics.count(.fellOutOfHistory)
        closeBehind(loop, slot: slot, reason: "reading too slowly: missed messages left the history; resubscribe with since")
    }

    /// What it has not read is lost to it (it may resume with since); the close frame goes
    /// next, so a client that reads again learns why it was dropped.
    private func closeBehind(_ loop: RingLoop, slot: UInt32, reason: String) {
        loop.discardQueued(slot: slot)
        closeWebSocket(loop, slot: slot, code: .policyViolation, reason: reason)
    }

    private func replyOK(_ loop: RingLoop, slot: UInt32, id: Int64?) {
        guard let frame = try? writer.ok(id: id) else { return }
        enqueue(loop, slot: slot, frame)
        hub.frames.release(frame)
    }

    private func replyError(_ loop: RingLoop, slot: UInt32, id: Int64?, code: ErrorCode, message: String) {
        guard let frame = try? writer.error(id: id, code: code, message: message) else { return }
        enqueue(loop, slot: slot, frame)
        hub.frames.release(frame)
    }

    // MARK: - Sending

    /// Queues a frame, behind any backlog already waiting; a client that lets its replies pile
    /// up is not reading and is disconnected (1008).
    private func enqueue(_ loop: RingLoop, slot: UInt32, _ frame: FrameHandle) {
        guard phase[Int(slot)] == .webSocket else { return }
        if !hasBacklog(slot) {
            switch loop.send(slot: slot, frame: frame) {
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
        hub.frames.retain(frame)
        backlogs[slot]!.frames.append(frame)
        backlogs[slot]!.replies += 1
    }

    /// Moves the backlog into the send queue while it has room; true when none is left.
    private func sendBacklog(_ loop: RingLoop, slot: UInt32) -> Bool {
        guard var backlog = backlogs.removeValue(forKey: slot) else { return true }
        while backlog.head < backlog.frames.count, loop.send(slot: slot, frame: backlog.frames[backlog.head]) == .queued {
            hub.frames.release(backlog.frames[backlog.head])
            backlog.head += 1
        }
        if backlog.head == backlog.frames.count { return true }
        if backlog.head > 1024 && backlog.head * 2 > backlog.frames.count {
            backlog.frames.removeFirst(backlog.head)
            backlog.head = 0
        }
        backlog.replies = min(backlog.replies, backlog.frames.count - backlog.head)
        backlogs[slot] = backlog
        loop.notifyWhenDrained(slot: slot)
        return false
    }

    /// Bytes waiting in a connection's backlog (counted against --max-lag-bytes).
    private func backlogBytes(_ slot: UInt32) -> Int {
        guard let backlog = backlogs[slot] else { return 0 }
        return backlog.waiting.reduce(0) { $0 + hub.frames.bytes($1).count }
    }

    /// Most rings have no backlog at all: the fan-out loop skips the lookup then.
    @inline(__always)
    private func hasBacklog(_ slot: UInt32) -> Bool {
        !backlogs.isEmpty && backlogs[slot] != nil
    }

    private func dropBacklog(_ slot: UInt32) {
        guard let backlog = backlogs.removeValue(forKey: slot) else { return }
        for frame in backlog.waiting { hub.frames.release(frame) }
    }
}

// The client side of one ring, an adapter: adopts connected sockets, hands each slot's bytes and
// events to its `ClientSession`, performs the session's actions on the ring (`ClientRingSink`) and
// passes protocol v1 messages to the mode's script. Ring thread only.
import Logging
import RingTLS
import StadiumProtocol
import Synchronization
import UringIO
import WebSocket

final class ClientRing: RingLoopHandler, SessionLink {
    let loop: RingLoop
    let ringIndex: Int
    let ringCount: Int
    var random: SplitMix64

    private let gateways: [GatewayURL]
    private let script: SessionScript
    let counters: LoadCounters
    let latency: LatencyRecorder
    let logger: Logger
    private weak var connector: Connector?

    private let inbox = Mutex<[(fd: Int32, connection: Int, gateway: Int)]>([])
    private var inboxBatch: [(fd: Int32, connection: Int, gateway: Int)] = []
    private var adopting = -1
    /// The position in `gateways` of the socket being adopted: its upgrade names that gateway.
    private var adoptingGateway = 0
    private var stopping = false
    private let handshakeTimeoutMicroseconds: Int64
    /// Stalled handshakes are looked for every 100 ms, not on every (10 ms) tick: the scan visits every slot.
    private var nextStallScanUs: Int64 = 0

    private var sessions: [ClientSession]
    private var connectionOfSlot: [Int]
    /// Slot of each local connection whose WebSocket is open, or -1: the script sends only there.
    private var slotOfLocal: [Int32]
    /// Per local connection: completed a handshake at least once (reconnects cannot hide one that never did).
    private var everOpened: [Bool]
    /// With --tls, every slot's TLS (ClientRing+TLS.swift); nil for ws://.
    let tls: TLSConnections?
    /// With --compression: bots offer permessage-deflate and inflate what comes compressed with
    /// this one inflater (each message whole, on this ring's thread).
    let inflater: MessageInflater?
    /// With --tls, each handshaking slot's upgrade request, sent once its TLS is up.
    var upgradeRequests: [UInt32: [UInt8]] = [:]

    init(
        loop: RingLoop, ringIndex: Int, ringCount: Int, connectionsInRing: Int, gateways: [GatewayURL],
        script: SessionScript, counters: LoadCounters, latency: LatencyRecorder, handshakeTimeoutMicroseconds: Int64,
        tls: TLSConnections? = nil, compression: Bool = false, logger: Logger
    ) {
        self.tls = tls
        inflater = compression ? MessageInflater(limit: ClientSession.maxMessageBytes) : nil
        self.handshakeTimeoutMicroseconds = handshakeTimeoutMicroseconds
        self.latency = latency
        self.loop = loop
        self.ringIndex = ringIndex
        self.ringCount = ringCount
        self.gateways = gateways
        self.script = script
        self.counters = counters
        self.logger = logger
        random = SplitMix64(seed: UInt64(Clock.monotonicMicroseconds()) &+ UInt64(ringIndex) &* 0x1234_5678_9ABC)
        let slots = loop.configuration.slots
        sessions = Array(repeating: ClientSession(), count: slots)
        connectionOfSlot = Array(repeating: -1, count: slots)
        slotOfLocal = Array(repeating: -1, count: connectionsInRing)
        everOpened = Array(repeating: false, count: connectionsInRing)
    }

    func attach(_ connector: Connector) {
        self.connector = connector
    }

    /// Hands a connected descriptor to this ring; any thread.
    func hand(fd: Int32, connection: Int, gateway: Int) {
        inbox.withLock { $0.append((fd, connection, gateway)) }
        loop.wake()
    }

    // MARK: - SessionLink

    func localIndex(of connection: Int) -> Int { connection / ringCount }
    func connection(atLocal index: Int) -> Int { index * ringCount + ringIndex }

    func isOpen(connection: Int) -> Bool {
        let slot = slotOfLocal[localIndex(of: connection)]
        // A session that closes its connection closes the ring's slot at once.
        return slot >= 0 && loop.isOpen(slot: UInt32(slot))
    }

    @discardableResult
    func sendText(connection: Int, _ payload: [UInt8]) -> Bool {
        guard isOpen(connection: connection) else { return false }
        return send(slot: UInt32(slotOfLocal[localIndex(of: connection)]), opcode: .text, payload.span.bytes)
    }

    // MARK: - Ring events

    func loopWoken(_ loop: RingLoop) {
        inbox.withLock { swap(&$0, &inboxBatch) }
        for (fd, connection, gateway) in inboxBatch {
            if stopping {
                ClientSocket.close(fd)
                connector?.handoffDone()
                continue
            }
            adopting = connection
            adoptingGateway = gateway
            do {
                _ = try loop.adopt(descriptor: fd)
            } catch {
                counters.add(.connectFailures)
                logger.warning("ring \(ringIndex) could not adopt a connection: \(error)")
                connector?.connectionLost(connection)
            }
            adopting = -1
            // The ring's table now holds the socket; the ordinary descriptor is no longer needed.
            ClientSocket.close(fd)
            connector?.handoffDone()
        }
        inboxBatch.removeAll(keepingCapacity: true)
    }

    func connectionOpened(_ loop: RingLoop, slot: UInt32) {
        let index = Int(slot)
        connectionOfSlot[index] = adopting
        let key = WebSocketHandshake.makeClientKey(using: &random)
        sessions[index] = ClientSession(key: key, now: Clock.monotonicMicroseconds(), offersDeflate: inflater != nil)
        let gateway = gateways[adoptingGateway]
        let request = sessions[index].upgradeRequest(host: gateway.hostHeader, path: gateway.path)
        if let tls {
            startTLS(slot, serverName: gateway.host, upgrade: request, tls)
            return
        }
        if !sendRaw(slot: slot, request) { loop.close(slot, .now) }
    }

    /// Runs one event of a slot's session with the sink that performs its actions on this ring.
    private func withSession<Result>(_ slot: UInt32, _ event: (inout ClientSession, inout ClientRingSink) -> Result) -> Result {
        var sink = ClientRingSink(ring: self, slot: slot, connection: connectionOfSlot[Int(slot)])
        return event(&sessions[Int(slot)], &sink)
    }

    func connectionReceived(_ loop: RingLoop, slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        if let tls {
            receiveTLS(slot, bytes, tls)
            return bytes.count
        }
        return receivePlaintext(slot: slot, bytes: bytes)
    }

    /// Bytes of the WebSocket connection (after TLS when there is TLS); returns how many were used.
    func receivePlaintext(slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        // Above the ring the bytes are a span: the compiler keeps them from outliving this call.
        var span = bytes.mutableBytes
        var sink = ClientRingSink(ring: self, slot: slot, connection: connectionOfSlot[Int(slot)])
        return sessions[Int(slot)].received(&span, into: &sink)
    }

    func connectionClosed(_ loop: RingLoop, slot: UInt32) {
        let index = Int(slot)
        let connection = connectionOfSlot[index]
        let wasOpen = sessions[index].phase == .open || sessions[index].phase == .closing
        sessions[index].ended()
        connectionOfSlot[index] = -1
        if let tls {
            _ = tls.closed(slot)
            upgradeRequests[slot] = nil
        }
        guard connection >= 0 else { return }
        slotOfLocal[localIndex(of: connection)] = -1
        // Our own closes at the end of a run are not disconnects.
        guard !stopping else { return }
        counters.add(.disconnects)
        if wasOpen { script.closed(self, connection: connection) }
        connector?.connectionLost(connection)
    }

    func loopTicked(_ loop: RingLoop) {
        guard !stopping else { return }
        let now = Clock.monotonicMicroseconds()
        if now >= nextStallScanUs {
            closeStalledHandshakes()
            nextStallScanUs = now + 100_000
        }
        script.ticked(self)
        tls?.ticked()
    }

    /// A gateway that accepted but never answered the upgrade: drop and reconnect.
    private func closeStalledHandshakes() {
        let now = Clock.monotonicMicroseconds()
        for index in sessions.indices where sessions[index].phase == .handshake {
            withSession(UInt32(index)) { session, sink in
                session.handshakeDeadlinePassed(now: now, timeoutUs: handshakeTimeoutMicroseconds, into: &sink)
            }
        }
    }

    func loopStopping(_ loop: RingLoop) {
        stopping = true
        for index in sessions.indices {
            withSession(UInt32(index)) { session, sink in session.stop(into: &sink) }
        }
    }

    func lossSummary() -> LossSummary? { script.lossSummary() }

    func playerSummary(stoppedEarly: Bool) -> PlayerSummary? { script.playerSummary(stoppedEarly: stoppedEarly) }

    /// Connections of this ring that never completed a handshake; call once the ring has stopped.
    var neverConnected: Int { everOpened.lazy.filter { !$0 }.count }

    func failHandshake(slot: UInt32, _ reason: String) {
        withSession(slot) { session, sink in session.transportFailed(reason, into: &sink) }
    }

    // MARK: - Session actions

    fileprivate func opened(slot: UInt32, connection: Int, handshakeMicroseconds: Int64) {
        counters.add(.handshakes)
        latency.record(.handshake, microseconds: handshakeMicroseconds)
        let local = localIndex(of: connection)
        slotOfLocal[local] = Int32(slot)
        everOpened[local] = true
        connector?.connectionEstablished(connection)
        script.opened(self, connection: connection)
    }

    fileprivate func received(connection: Int, _ message: ServerMessage, bytes: RawSpan) {
        script.received(self, connection: connection, message: message, bytes: bytes)
    }

    fileprivate func failed(_ failure: ClientSessionFailure) {
        switch failure {
        case .handshakeRefused(let reason):
            counters.add(.handshakeFailures)
            logger.warning("handshake refused: \(reason)")
        case .handshakeTimedOut:
            counters.add(.handshakeFailures)
        case .protocolViolation(let reason, let inputStart):
            counters.add(.protocolErrors)
            if counters[.protocolErrors] <= 5 {
                logger.warning("gateway broke the WebSocket protocol: \(reason) (input began '\(inputStart)')")
            }
        case .unreadableMessage(let reason):
            logger.warning("unreadable message from the gateway: \(reason)")
        }
    }

    /// A masked frame (clients must mask) in a pool frame of its own.
    fileprivate func send(slot: UInt32, opcode: WebSocketOpcode, _ payload: RawSpan) -> Bool {
        let maskKey = UInt32(truncatingIfNeeded: random.next())
        let count = payload.byteCount
        let header = FrameEncoder.headerLength(payloadCount: count, masked: true)
        return sendFrame(slot: slot, length: header + count) { buffer in
            FrameEncoder.writeHeader(into: buffer, opcode: opcode, payloadCount: count, maskKey: maskKey)
            let body = UnsafeMutableRawBufferPointer(rebasing: buffer[header..<(header + count)])
            payload.withUnsafeBytes { body.copyMemory(from: $0) }
            FrameEncoder.mask(body, key: maskKey)
        }
    }

    func sendRaw(slot: UInt32, _ bytes: [UInt8]) -> Bool {
        sendFrame(slot: slot, length: bytes.count) { buffer in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[..<bytes.count]).copyMemory(from: $0) }
        }
    }

    private func sendFrame(slot: UInt32, length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard let frame = try? loop.frames.acquire(bytes: length) else { return false }
        fill(loop.frames.writableBytes(frame))
        loop.frames.setLength(frame, length)
        let result = loop.send(slot: slot, frame: frame)
        loop.frames.release(frame)
        return result == .queued
    }
}

/// Performs one slot's session actions on its ring.
struct ClientRingSink: ClientSessionSink {
    let ring: ClientRing
    let slot: UInt32
    let connection: Int

    var monotonicMicroseconds: Int64 { Clock.monotonicMicroseconds() }
    var inflater: MessageInflater? { ring.inflater }

    func send(_ opcode: WebSocketOpcode, payload: RawSpan) -> Bool {
        ring.send(slot: slot, opcode: opcode, payload)
    }

    func close(_ mode: CloseMode) {
        ring.loop.close(slot, mode)
    }

    func opened(handshakeMicroseconds: Int64) {
        ring.opened(slot: slot, connection: connection, handshakeMicroseconds: handshakeMicroseconds)
    }

    func received(_ message: ServerMessage, bytes: RawSpan) {
        ring.received(connection: connection, message, bytes: bytes)
    }

    func failed(_ failure: ClientSessionFailure) {
        ring.failed(failure)
    }
}

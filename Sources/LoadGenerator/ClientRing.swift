// The client side of one ring: adopts connected sockets, performs the WebSocket handshake,
// reads server frames and hands protocol v1 messages to the mode's script. Ring thread only.
import Logging
import RingTLS
import StadiumProtocol
import Synchronization
import UringIO
import WebSocket

private enum SlotPhase: UInt8 {
    case free
    case handshake
    case open
    case closing
}

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

    private var phase: [SlotPhase]
    private var connectionOfSlot: [Int]
    private var readers: [WebSocketReader]
    private var handshakeKeys: [String]
    private var handshakeStartedUs: [Int64]
    /// Slot of each local connection, or -1.
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
        inflater = compression ? MessageInflater(limit: 1 << 20) : nil
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
        phase = Array(repeating: .free, count: slots)
        connectionOfSlot = Array(repeating: -1, count: slots)
        readers = Array(repeating: WebSocketReader(role: .client, maxMessageBytes: 1 << 20), count: slots)
        handshakeKeys = Array(repeating: "", count: slots)
        handshakeStartedUs = Array(repeating: 0, count: slots)
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
        return slot >= 0 && phase[Int(slot)] == .open
    }

    @discardableResult
    func sendText(connection: Int, _ payload: [UInt8]) -> Bool {
        let slot = slotOfLocal[localIndex(of: connection)]
        guard slot >= 0, phase[Int(slot)] == .open else { return false }
        return send(slot: UInt32(slot), opcode: .text, payload)
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
        let connection = adopting
        phase[index] = .handshake
        connectionOfSlot[index] = connection
        slotOfLocal[localIndex(of: connection)] = Int32(slot)
        readers[index] = WebSocketReader(role: .client, maxMessageBytes: 1 << 20)
        let key = WebSocketHandshake.makeClientKey(using: &random)
        handshakeKeys[index] = key
        handshakeStartedUs[index] = Clock.monotonicMicroseconds()
        let gateway = gateways[adoptingGateway]
        let request = WebSocketHandshake.clientRequest(
            host: gateway.hostHeader, path: gateway.path, key: key,
            extensions: inflater == nil ? nil : PerMessageDeflate.clientOffer)
        if let tls {
            startTLS(slot, serverName: gateway.host, upgrade: request, tls)
            return
        }
        if !sendRaw(slot: slot, request) { loop.close(slot, .now) }
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
        switch phase[Int(slot)] {
        case .handshake:
            return receiveHandshake(slot: slot, bytes: bytes)
        case .open:
            return receiveFrames(slot: slot, bytes: bytes)
        case .closing, .free:
            return bytes.count
        }
    }

    func connectionClosed(_ loop: RingLoop, slot: UInt32) {
        let index = Int(slot)
        let connection = connectionOfSlot[index]
        let wasOpen = phase[index] == .open || phase[index] == .closing
        phase[index] = .free
        connectionOfSlot[index] = -1
        handshakeKeys[index] = ""
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
        let cutoff = Clock.monotonicMicroseconds() - handshakeTimeoutMicroseconds
        for index in phase.indices where phase[index] == .handshake && handshakeStartedUs[index] < cutoff {
            counters.add(.handshakeFailures)
            phase[index] = .closing
            loop.close(UInt32(index), .now)
        }
    }

    func loopStopping(_ loop: RingLoop) {
        stopping = true
        for index in phase.indices {
            switch phase[index] {
            case .open:
                phase[index] = .closing
                _ = send(slot: UInt32(index), opcode: .close, FrameEncoder.closePayload(code: .goingAway, reason: "load generator stopping"))
                loop.close(UInt32(index), .afterFlush)
            case .handshake:
                phase[index] = .closing
                loop.close(UInt32(index), .now)
            case .closing, .free:
                break
            }
        }
    }

    func lossSummary() -> LossSummary? { script.lossSummary() }

    func playerSummary(stoppedEarly: Bool) -> PlayerSummary? { script.playerSummary(stoppedEarly: stoppedEarly) }

    /// Connections of this ring that never completed a handshake; call once the ring has stopped.
    var neverConnected: Int { everOpened.lazy.filter { !$0 }.count }

    // MARK: - Handshake

    private func receiveHandshake(slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        let index = Int(slot)
        switch HTTPResponseParser.parse(UnsafeRawBufferPointer(bytes)) {
        case .incomplete:
            return 0
        case .tooLarge, .malformed:
            failHandshake(slot: slot, "the gateway's answer to the upgrade request is not HTTP")
            return bytes.count
        case .complete(let head, let consumed):
            do {
                try WebSocketHandshake.validateServerResponse(
                    head, key: handshakeKeys[index], offeredDeflate: inflater != nil)
            } catch {
                failHandshake(slot: slot, error.description)
                return bytes.count
            }
            readers[index].inflatesMessages =
                inflater != nil && PerMessageDeflate.clientAccepts(head.headers.values("Sec-WebSocket-Extensions")) == true
            phase[index] = .open
            handshakeKeys[index] = ""
            counters.add(.handshakes)
            latency.record(.handshake, microseconds: Clock.monotonicMicroseconds() - handshakeStartedUs[index])
            let connection = connectionOfSlot[index]
            everOpened[localIndex(of: connection)] = true
            connector?.connectionEstablished(connection)
            script.opened(self, connection: connection)
            let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
            guard !rest.isEmpty, phase[index] == .open else { return consumed }
            return consumed + receiveFrames(slot: slot, bytes: rest)
        }
    }

    func failHandshake(slot: UInt32, _ reason: String) {
        counters.add(.handshakeFailures)
        logger.warning("handshake refused: \(reason)")
        phase[Int(slot)] = .closing
        loop.close(slot, .now)
    }

    // MARK: - Frames

    private func receiveFrames(slot: UInt32, bytes: UnsafeMutableRawBufferPointer) -> Int {
        let index = Int(slot)
        let connection = connectionOfSlot[index]
        let outcome = readers[index].consume(bytes, inflater: inflater) { event in
            switch event {
            case .text(let payload):
                switch ServerMessageParser.parse(payload) {
                case .success(let message):
                    script.received(self, connection: connection, message: message, bytes: payload)
                case .failure(let error):
                    logger.warning("unreadable message from the gateway: \(error)")
                }
            case .ping(let payload):
                _ = send(slot: slot, opcode: .pong, Array(payload))
            case .close(let code, _):
                guard phase[index] == .open else { return }
                phase[index] = .closing
                _ = send(slot: slot, opcode: .close, FrameEncoder.closePayload(code: code ?? .normalClosure))
                loop.close(slot, .afterFlush)
            case .binary, .pong:
                break
            }
        }
        switch outcome {
        case .consumed(let count):
            return count
        case .fail(let code, let reason):
            counters.add(.protocolErrors)
            if counters[.protocolErrors] <= 5 {
                let start = String(decoding: bytes.prefix(40).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
                logger.warning("gateway broke the WebSocket protocol: \(reason) (input began '\(start)')")
            }
            phase[index] = .closing
            _ = send(slot: slot, opcode: .close, FrameEncoder.closePayload(code: code))
            loop.close(slot, .afterFlush)
            return bytes.count
        }
    }

    /// A masked frame (clients must mask) in a pool frame of its own.
    private func send(slot: UInt32, opcode: WebSocketOpcode, _ payload: [UInt8]) -> Bool {
        let maskKey = UInt32(truncatingIfNeeded: random.next())
        let header = FrameEncoder.headerLength(payloadCount: payload.count, masked: true)
        return sendFrame(slot: slot, length: header + payload.count) { buffer in
            FrameEncoder.writeHeader(into: buffer, opcode: opcode, payloadCount: payload.count, maskKey: maskKey)
            let body = UnsafeMutableRawBufferPointer(rebasing: buffer[header..<(header + payload.count)])
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

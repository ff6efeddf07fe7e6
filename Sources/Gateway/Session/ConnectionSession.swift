// One connection's protocol from its first byte to its close: the HTTP head, the upgrade,
// WebSocket frames, protocol v1 requests, trust and limits. No I/O: bytes and events come in,
// actions go out through a `SessionSink`, which the ring performs. A later stage (TLS,
// compression) sits between the ring's bytes and `received`, and between `send` and the socket.
import StadiumProtocol
import UringIO
import WebSocket

/// Public so that benchmarks (and later pipeline stages in other modules) can drive it.
public struct ConnectionSession {
    public enum Phase: UInt8, Sendable {
        case free
        /// Waiting for a complete HTTP request head.
        case http
        case webSocket
        /// A close frame or final HTTP response is on its way; input is ignored.
        case closing
    }

    public private(set) var phase: Phase = .free
    private var reader = ConnectionSession.idleReader
    private var trust = ConnectionTrust()

    /// Stands in for a slot's reader while none is needed, or while its own one is reading.
    private static let idleReader = WebSocketReader(role: .server, maxMessageBytes: 0)

    public init() {}

    /// A connection just accepted at `now` (monotonic nanoseconds).
    public init(now: Int64, rules: SessionRules) {
        phase = .http
        reader = WebSocketReader(role: .server, maxMessageBytes: rules.maxMessageBytes)
        trust = ConnectionTrust(policy: rules.trust, now: now)
    }

    /// Who the connection acts as; nil while a `jwt` connection has not authenticated.
    var identity: VerifiedToken? { trust.identity }

    // MARK: - Events

    /// Bytes from the peer, borrowed for the call (frames are unmasked in place); returns how
    /// many were used (the rest come again with more).
    public mutating func received<Sink: SessionSink>(
        _ bytes: inout MutableRawSpan, now: Int64, rules: SessionRules, into sink: inout Sink
    ) -> Int {
        bytes.withUnsafeMutableBytes { buffer in received(buffer, now: now, rules: rules, into: &sink) }
    }

    private mutating func received<Sink: SessionSink>(
        _ bytes: UnsafeMutableRawBufferPointer, now: Int64, rules: SessionRules, into sink: inout Sink
    ) -> Int {
        trust.heard(now: now)
        guard sink.isOpen else { return bytes.count }
        switch phase {
        case .http:
            return receiveHTTP(bytes, rules: rules, into: &sink)
        case .webSocket:
            return receiveFrames(bytes, rules: rules, into: &sink)
        case .closing, .free:
            return bytes.count
        }
    }

    /// The handshake timeout passed: a head not yet complete, or a `jwt` connection that has not authenticated.
    public mutating func handshakeExpired<Sink: SessionSink>(rules: SessionRules, into sink: inout Sink) {
        guard sink.isOpen else { return }
        if phase == .http {
            sink.count(.error(.handshakeTimeout))
            respond(HTTPResponse.text(status: 408, "request head not received in time"), rules: rules, into: &sink)
        } else if phase == .webSocket && trust.identity == nil {
            sink.count(.error(.unauthorized))
            close(code: .policyViolation, reason: "no auth message in time", rules: rules, into: &sink)
        }
    }

    /// The once-a-second look: warns and closes on token expiry, pings a silent connection, closes a dead one.
    public mutating func checkTrust<Sink: SessionSink>(now: Int64, rules: SessionRules, into sink: inout Sink) {
        guard phase == .webSocket, sink.isOpen else { return }
        let unixNow = sink.unixNow
        switch trust.check(now: now, unixNow: unixNow, policy: rules.trust) {
        case .nothing:
            break
        case .ping:
            reply(.ping, rules: rules, into: &sink)
        case .warnExpiry(let expires):
            replyError(
                id: nil, code: .tokenExpiring,
                message: "token expires at \(expires) (in \(max(0, expires - unixNow)) s); send auth with a fresh token to stay connected",
                rules: rules, into: &sink)
        case .closeExpired:
            sink.count(.error(.tokenExpired))
            close(code: .policyViolation, reason: "token expired", rules: rules, into: &sink)
        case .closeIdle:
            sink.count(.error(.idleTimeout))
            close(code: .goingAway, reason: "idle timeout: no answer to ping", rules: rules, into: &sink)
        }
    }

    /// Nanoseconds from `now` until `checkTrust` may have something to do; nil when it never will
    /// (not a WebSocket connection, or neither an idle timeout nor an expiring token).
    public func nanosecondsUntilTrustCheck(now: Int64, unixNow: Int64, rules: SessionRules) -> Int64? {
        guard phase == .webSocket else { return nil }
        return trust.nanosecondsUntilCheck(now: now, unixNow: unixNow, policy: rules.trust)
    }

    /// Too many connections from the peer's address: 503 before the upgrade, 1013 after it.
    public mutating func refuse<Sink: SessionSink>(reason: String, rules: SessionRules, into sink: inout Sink) {
        guard sink.isOpen else { return }
        switch phase {
        case .http:
            respond(HTTPResponse.text(status: 503, reason), rules: rules, into: &sink)
        case .webSocket:
            close(code: .tryAgainLater, reason: reason, rules: rules, into: &sink)
        case .closing, .free:
            break
        }
    }

    /// The gateway stops: WebSocket connections are told (1001), HTTP ones closed.
    public mutating func shutDown<Sink: SessionSink>(rules: SessionRules, into sink: inout Sink) {
        switch phase {
        case .webSocket:
            close(code: .goingAway, reason: "gateway shutting down", rules: rules, into: &sink)
        case .http:
            phase = .closing
            sink.close(.now)
        case .closing, .free:
            break
        }
    }

    /// Sends a close frame and closes once it is written.
    public mutating func close<Sink: SessionSink>(code: CloseCode, reason: String, rules: SessionRules, into sink: inout Sink) {
        phase = .closing
        sink.closeWebSocket(code: code, reason: reason, writer: rules.writer)
    }

    /// The slot was given back: nothing of the connection is kept.
    public mutating func ended() {
        self = ConnectionSession()
    }

    // MARK: - HTTP phase

    private mutating func receiveHTTP<Sink: SessionSink>(
        _ bytes: UnsafeMutableRawBufferPointer, rules: SessionRules, into sink: inout Sink
    ) -> Int {
        switch HTTPRequestParser.parse(UnsafeRawBufferPointer(bytes).bytes, maxHeaderBytes: rules.maxHeaderBytes) {
        case .incomplete:
            return 0
        case .tooLarge:
            sink.count(.error(.headersTooLarge))
            respond(HTTPResponse.text(status: 431, "request headers exceed 8 KiB"), rules: rules, into: &sink)
            return bytes.count
        case .malformed(let reason):
            sink.count(.error(.malformedHTTP))
            respond(HTTPResponse.text(status: 400, reason), rules: rules, into: &sink)
            return bytes.count
        case .complete(let head, let consumed):
            switch WebSocketHandshake.evaluate(head, compression: rules.compression && rules.inflater != nil) {
            case .upgrade(let response, _, let deflate):
                if rules.trust.requiresToken, let token = Self.presentedToken(head),
                   case .rejected(let rejection) = trust.authenticate(token: token, unixNow: sink.unixNow, policy: rules.trust) {
                    sink.count(.error(.unauthorized))
                    respond(Self.unauthorizedResponse(rejection), rules: rules, into: &sink)
                    return bytes.count
                }
                guard sendHTTP(response, rules: rules, into: &sink) else { return bytes.count }
                phase = .webSocket
                if deflate {
                    reader.inflatesMessages = true
                    sink.compressionAgreed()
                }
                let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[consumed...])
                guard !rest.isEmpty else { return bytes.count }
                return consumed + receiveFrames(rest, rules: rules, into: &sink)
            case .notWebSocket:
                sink.count(.httpRequest)
                respond(sink.respond(to: head), rules: rules, into: &sink)
                return bytes.count
            case .reject(let status, let reason):
                sink.count(.error(.badUpgrade))
                respond(WebSocketHandshake.rejectionResponse(status: status, reason: reason), rules: rules, into: &sink)
                return bytes.count
            }
        }
    }

    /// Sends a complete HTTP response and closes once it is written.
    private mutating func respond<Sink: SessionSink>(_ response: [UInt8], rules: SessionRules, into sink: inout Sink) {
        phase = .closing
        if sendHTTP(response, rules: rules, into: &sink) { sink.close(.afterFlush) }
    }

    /// Queues an HTTP response; one that cannot be built is counted and the connection closed
    /// at once (there is no WebSocket yet to say why).
    private mutating func sendHTTP<Sink: SessionSink>(_ response: [UInt8], rules: SessionRules, into sink: inout Sink) -> Bool {
        do {
            sink.send(try rules.writer.encode(.raw(response)), final: false)
            return true
        } catch {
            sink.count(.error(.replyDropped))
            phase = .closing
            sink.close(.now)
            return false
        }
    }

    // MARK: - WebSocket phase

    private mutating func receiveFrames<Sink: SessionSink>(
        _ bytes: UnsafeMutableRawBufferPointer, rules: SessionRules, into sink: inout Sink
    ) -> Int {
        // The reader is taken out while it reads, so that its events may change the rest of the session.
        var reader = Self.idleReader
        swap(&reader, &self.reader)
        let outcome = reader.consume(bytes, inflater: rules.inflater) { event in
            handle(event, rules: rules, into: &sink)
        }
        swap(&reader, &self.reader)
        switch outcome {
        case .consumed(let count):
            return count
        case .fail(let code, let reason):
            sink.count(.error(Self.errorKind(for: code, inflateFailure: self.reader.inflateFailure)))
            close(code: code, reason: reason, rules: rules, into: &sink)
            return bytes.count
        }
    }

    private static func errorKind(for code: CloseCode, inflateFailure: InflateFailure?) -> ErrorKind {
        switch inflateFailure {
        case .tooBig: return .inflatedTooBig
        case .corrupt: return .inflateFailed
        case nil: break
        }
        switch code {
        case .messageTooBig: return .messageTooBig
        case .invalidPayloadData: return .invalidUTF8
        default: return .protocolError
        }
    }

    private mutating func handle<Sink: SessionSink>(_ event: WebSocketEvent, rules: SessionRules, into sink: inout Sink) {
        // The ring may have closed the connection while an earlier message of this read was handled.
        guard phase == .webSocket, sink.isOpen else { return }
        switch event {
        case .text(let payload):
            sink.count(.frameReceived)
            handleRequest(payload, rules: rules, into: &sink)
        case .binary:
            sink.count(.error(.unsupportedData))
            close(code: .unsupportedData, reason: "protocol v1 uses text frames", rules: rules, into: &sink)
        case .ping, .pong, .close:
            switch event.requiredAnswer {
            case .pong(let payload): reply(.pong(payload: payload), rules: rules, into: &sink)
            case .close(let code): close(code: code, reason: "", rules: rules, into: &sink)
            case nil: break
            }
        }
    }

    // MARK: - Protocol v1

    private mutating func handleRequest<Sink: SessionSink>(
        _ payload: RawSpan, rules: SessionRules, into sink: inout Sink
    ) {
        switch ClientRequestParser.parse(payload) {
        case .failure(let error):
            sink.count(.error(error.code == .badSubject ? .badSubject : .badRequest))
            replyError(id: error.id, code: error.code, message: error.message, rules: rules, into: &sink)
        case .success(let request):
            guard let identity = trust.identity else {
                authenticateFirst(request, rules: rules, into: &sink)
                return
            }
            switch request {
            case .sub(let id, let names, let since, let cursors):
                if let denied = names.first(where: { !identity.entitlements.maySubscribe(to: $0) }) {
                    sink.count(.error(.forbidden))
                    replyError(id: id, code: .forbidden, message: "may not subscribe to \(denied)", rules: rules, into: &sink)
                    return
                }
                guard let positions = sink.subscribe(names: names, limit: rules.maxSubscriptions) else {
                    sink.count(.error(.tooManySubscriptions))
                    replyError(
                        id: id, code: .tooManySubscriptions,
                        message: "a connection may hold at most \(rules.maxSubscriptions) subscriptions",
                        rules: rules, into: &sink)
                    return
                }
                reply(.subscribed(id: id, positions: positions), rules: rules, into: &sink)
                // What the new subscriptions deliver comes after their ok.
                if phase == .webSocket { sink.startDelivery(since: since, cursors: cursors) }
            case .unsub(let id, let names):
                sink.unsubscribe(names: names)
                reply(.ok(id: id), rules: rules, into: &sink)
            case .pub(let id, let subject, let data):
                guard sink.acceptsPublishes else {
                    replyError(
                        id: id, code: .kafkaUnavailable, message: "gateway shutting down; reconnect and publish again",
                        rules: rules, into: &sink)
                    return
                }
                guard trust.mayPublishNow(now: sink.preciseNow, policy: rules.trust) else {
                    sink.count(.error(.rateLimited))
                    replyError(id: id, code: .rateLimited, message: rules.rateLimitMessage, rules: rules, into: &sink)
                    return
                }
                guard identity.entitlements.mayPublish(to: subject) else {
                    sink.count(.error(.forbidden))
                    replyError(id: id, code: .forbidden, message: "may not publish to \(subject)", rules: rules, into: &sink)
                    return
                }
                sink.publish(id: id, subject: subject, data: payload.extracting(data), user: identity.user)
            case .auth(let id, let token):
                authenticate(id: id, token: token, rules: rules, into: &sink)
            }
        }
    }

    /// A `jwt` connection that has no identity yet may only send `auth`.
    private mutating func authenticateFirst<Sink: SessionSink>(
        _ request: ClientRequest, rules: SessionRules, into sink: inout Sink
    ) {
        guard case .auth(let id, let token) = request else {
            sink.count(.error(.unauthorized))
            close(
                code: .policyViolation, reason: "authenticate first: {\"op\":\"auth\",\"token\":...}",
                rules: rules, into: &sink)
            return
        }
        authenticate(id: id, token: token, rules: rules, into: &sink)
    }

    /// An auth message: a first token, or a fresh one for the same user before the old expires.
    private mutating func authenticate<Sink: SessionSink>(
        id: Int64?, token: String, rules: SessionRules, into sink: inout Sink
    ) {
        switch trust.authenticate(token: token, unixNow: sink.unixNow, policy: rules.trust) {
        case .accepted:
            // A fresh token may expire sooner than the one its check was planned for.
            sink.trustCheckMoved()
            reply(.ok(id: id), rules: rules, into: &sink)
        case .rejected(let rejection):
            sink.count(.error(.unauthorized))
            close(code: .policyViolation, reason: Self.closeReason("\(rejection)"), rules: rules, into: &sink)
        }
    }

    // MARK: - Replies

    private mutating func replyError<Sink: SessionSink>(
        id: Int64?, code: ErrorCode, message: String, rules: SessionRules, into sink: inout Sink
    ) {
        reply(.error(id: id, code: code, message: message), rules: rules, into: &sink)
    }

    /// Sends a reply; one that cannot be built closes the connection.
    private mutating func reply<Sink: SessionSink>(_ reply: Reply, rules: SessionRules, into sink: inout Sink) {
        guard let frame = sink.encodeOrClose(reply, writer: rules.writer) else {
            phase = .closing
            return
        }
        sink.send(frame, final: false)
    }
}

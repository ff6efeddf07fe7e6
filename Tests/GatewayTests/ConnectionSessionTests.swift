import StadiumProtocol
import Testing
import UringIO
import WebSocket
@testable import Gateway

/// Records what a session asks of its ring, with sent frames decoded as a client reads them.
private struct RecordingSink: SessionSink {
    enum Action: Equatable {
        case text(String)
        case ping
        case pong([UInt8])
        case closeFrame(code: UInt16, reason: String)
        case http(String)
        case close(CloseMode)
        case count(SessionCount)
        case respond(path: String)
        case publish(id: Int64?, subject: String, data: String, user: String)
        case subscribe([String])
        case startDelivery(since: [String: Int64], cursors: [String: [Int32: Int64]] = [:])
        case unsubscribe([String])
        case compressionAgreed
        case trustCheckMoved
    }

    let frames: FramePool
    var actions: [Action] = []
    var preciseNow: Int64 = 0
    var unixNow: Int64 = 1_700_000_000
    var isOpen = true
    var acceptsPublishes = true
    /// What `subscribe` answers.
    var subscribeAllowed = true
    /// The positions `subscribe` reports for the ok.
    var positions: [String: [Int32: Int64]] = [:]

    mutating func send(_ frame: consuming OwnedFrame, final: Bool) {
        actions.append(Self.decode(Array(frame.bytes)))
    }

    mutating func close(_ mode: CloseMode) {
        actions.append(.close(mode))
        isOpen = false
    }

    mutating func count(_ event: SessionCount) { actions.append(.count(event)) }

    mutating func compressionAgreed() { actions.append(.compressionAgreed) }
    mutating func trustCheckMoved() { actions.append(.trustCheckMoved) }

    mutating func respond(to head: HTTPRequestHead) -> [UInt8] {
        actions.append(.respond(path: head.path))
        return HTTPResponse.text(status: 200, "fine")
    }

    mutating func publish(id: Int64?, subject: String, data: RawSpan, user: String) {
        let text = data.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        actions.append(.publish(id: id, subject: subject, data: text, user: user))
    }

    mutating func subscribe(names: [String], limit: Int) -> [String: [Int32: Int64]]? {
        actions.append(.subscribe(names))
        return subscribeAllowed ? positions : nil
    }

    mutating func startDelivery(since: [String: Int64], cursors: [String: [Int32: Int64]]) {
        actions.append(.startDelivery(since: since, cursors: cursors))
    }

    mutating func unsubscribe(names: [String]) { actions.append(.unsubscribe(names)) }

    /// A server frame as the client reads it; anything that is not a frame is an HTTP response.
    private static func decode(_ bytes: [UInt8]) -> Action {
        guard let first = bytes.first, first & 0x80 != 0 else { return .http(String(decoding: bytes, as: UTF8.self)) }
        var copy = bytes
        var reader = WebSocketReader(role: .client, maxMessageBytes: 1 << 20)
        var action = Action.http("undecodable")
        _ = copy.withUnsafeMutableBytes { buffer in
            reader.consume(buffer) { event in
                switch event {
                case .text(let payload): action = .text(payload.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
                case .ping: action = .ping
                case .pong(let payload): action = .pong(payload.withUnsafeBytes { Array($0) })
                case .close(let code, let reason): action = .closeFrame(code: code?.rawValue ?? 0, reason: reason)
                case .binary: break
                }
            }
        }
        return action
    }
}

@Suite struct ConnectionSessionTests {
    static let upgrade = """
        GET /ws HTTP/1.1\r
        Host: localhost\r
        Upgrade: websocket\r
        Connection: Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Sec-WebSocket-Version: 13\r
        Sec-WebSocket-Protocol: stadium.v1\r
        \r\n
        """

    private static func configuration(_ change: (inout GatewayConfiguration) -> Void = { _ in }) -> GatewayConfiguration {
        var configuration = GatewayConfiguration(listen: try! SocketAddress(parsing: "127.0.0.1:0"))
        change(&configuration)
        return configuration
    }

    /// A session, its rules and a sink, with the frame pool they share.
    private struct Harness {
        let rules: SessionRules
        var session: ConnectionSession
        var sink: RecordingSink

        init(poolCapacity: Int = 64, _ change: (inout GatewayConfiguration) -> Void = { _ in }) {
            let frames = FramePool(capacity: poolCapacity)
            rules = SessionRules(ConnectionSessionTests.configuration(change), frames: frames)
            session = ConnectionSession(now: 0, rules: rules)
            sink = RecordingSink(frames: frames)
        }

        /// Feeds bytes as the ring does; returns how many the session used.
        @discardableResult
        mutating func receive(_ bytes: [UInt8], now: Int64 = 0) -> Int {
            var copy = bytes
            return copy.withUnsafeMutableBytes { buffer in
                var span = buffer.mutableBytes
                return session.received(&span, now: now, rules: rules, into: &sink)
            }
        }

        mutating func receive(_ text: String) { receive(Array(text.utf8)) }

        /// A text message masked as a client sends it.
        mutating func send(_ text: String) {
            receive(FrameEncoder.frame(opcode: .text, payload: Array(text.utf8), maskKey: 0x1234_5678))
        }

        /// Upgrades and forgets what that did.
        mutating func open() {
            receive(ConnectionSessionTests.upgrade)
            #expect(session.phase == .webSocket)
            sink.actions.removeAll()
        }

        mutating func take() -> [RecordingSink.Action] {
            defer { sink.actions.removeAll() }
            return sink.actions
        }
    }

    @Test func upgradeAnswers101AndReadsFramesThatCameWithTheHead() throws {
        var harness = Harness()
        let frame = FrameEncoder.frame(opcode: .text, payload: Array(#"{"op":"unsub","id":1,"subjects":["/a"]}"#.utf8), maskKey: 7)
        let bytes = Array(Self.upgrade.utf8) + frame
        #expect(harness.receive(bytes) == bytes.count)
        let actions = harness.take()
        guard case .http(let response) = actions.first else { Issue.record("no 101: \(actions)"); return }
        #expect(response.hasPrefix("HTTP/1.1 101"))
        #expect(Array(actions.dropFirst()) == [
            .count(.frameReceived), .unsubscribe(["/a"]), .text(#"{"op":"ok","id":1}"#),
        ])
    }

    @Test func anIncompleteHeadWaitsForMoreBytes() {
        var harness = Harness()
        #expect(harness.receive(Array("GET /ws HTTP/1.1\r\nHost: x\r\n".utf8)) == 0)
        #expect(harness.take().isEmpty)
        #expect(harness.session.phase == .http)
    }

    @Test func plainRequestsAreRoutedAndClosedAfterTheResponse() {
        var harness = Harness()
        harness.receive("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let actions = harness.take()
        #expect(actions.first == .count(.httpRequest))
        #expect(actions.dropFirst().first == .respond(path: "/healthz"))
        #expect(actions.last == .close(.afterFlush))
        #expect(harness.session.phase == .closing)
    }

    @Test func oversizedHeadsAndBadUpgradesAreRefused() {
        var large = Harness { $0.maxHeaderBytes = 64 }
        large.receive("GET /ws HTTP/1.1\r\nHost: \(String(repeating: "x", count: 100))\r\n\r\n")
        var actions = large.take()
        #expect(actions.first == .count(.error(.headersTooLarge)))
        guard case .http(let tooLarge) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
        #expect(tooLarge.hasPrefix("HTTP/1.1 431"))

        var bad = Harness()
        bad.receive("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        actions = bad.take()
        #expect(actions.first == .count(.error(.badUpgrade)))
        #expect(actions.last == .close(.afterFlush))
    }

    @Test func subscribeRepliesOkBeforeDelivery() {
        var harness = Harness()
        harness.open()
        harness.send(#"{"op":"sub","id":2,"subjects":["/question"],"since":{"/question":5}}"#)
        #expect(harness.take() == [
            .count(.frameReceived), .subscribe(["/question"]), .text(#"{"op":"ok","id":2}"#),
            .startDelivery(since: ["/question": 5]),
        ])
    }

    @Test func subscribeOkCarriesPositionsAndCursorsReachDelivery() {
        var harness = Harness()
        harness.open()
        harness.sink.positions = ["/question": [0: 40, 1: -1, 2: 17]]
        harness.send(#"{"op":"sub","id":3,"subjects":["/question","/top/bob"],"since":{"/question":{"1":-1,"0":41},"/top/bob":4}}"#)
        #expect(harness.take() == [
            .count(.frameReceived), .subscribe(["/question", "/top/bob"]),
            .text(#"{"op":"ok","id":3,"positions":{"/question":{"0":40,"1":-1,"2":17}}}"#),
            .startDelivery(since: ["/top/bob": 4], cursors: ["/question": [0: 41, 1: -1]]),
        ])
    }

    @Test func aBadCursorIsACountedError() {
        var harness = Harness()
        harness.open()
        harness.send(#"{"op":"sub","id":4,"subjects":["/question"],"since":{"/question":{"01":3}}}"#)
        let actions = harness.take()
        #expect(actions.contains(.count(.error(.badRequest))))
        #expect(!actions.contains(.subscribe(["/question"])))
        #expect(actions.contains(.text(
            #"{"op":"err","id":4,"code":"bad_request","message":"cursor for \"/question\": partition \"01\" must be a decimal number from 0 to 2147483647"}"#)))
    }

    @Test func tooManySubscriptionsIsAnError() {
        var harness = Harness { $0.maxSubscriptionsPerConnection = 3 }
        harness.open()
        harness.sink.subscribeAllowed = false
        harness.send(#"{"op":"sub","id":4,"subjects":["/a"]}"#)
        #expect(harness.take() == [
            .count(.frameReceived), .subscribe(["/a"]), .count(.error(.tooManySubscriptions)),
            .text(#"{"op":"err","id":4,"code":"too_many_subscriptions","message":"a connection may hold at most 3 subscriptions"}"#),
        ])
    }

    @Test func pubsGoOutUnderTheConnectionsIdentityWithinTheBudget() {
        var harness = Harness {
            $0.publishRate = 1
            $0.publishBurst = 1
        }
        harness.open()
        harness.send(#"{"op":"pub","id":1,"subject":"/answer/x","data":{"a":1}}"#)
        harness.send(#"{"op":"pub","id":2,"subject":"/answer/x","data":{"a":2}}"#)
        let actions = harness.take()
        #expect(actions.prefix(2) == [
            .count(.frameReceived), .publish(id: 1, subject: "/answer/x", data: #"{"a":1}"#, user: "anonymous"),
        ])
        #expect(actions.dropFirst(2).prefix(2) == [.count(.frameReceived), .count(.error(.rateLimited))])
        guard case .text(let refused) = actions.last else { Issue.record("\(actions)"); return }
        #expect(refused.contains(#""code":"rate_limited""#))
    }

    @Test func pubsAreRefusedWhileShuttingDown() {
        var harness = Harness()
        harness.open()
        harness.sink.acceptsPublishes = false
        harness.send(#"{"op":"pub","id":1,"subject":"/answer/x","data":1}"#)
        guard case .text(let refused) = harness.take().last else { Issue.record("no reply"); return }
        #expect(refused.contains(#""code":"kafka_unavailable""#))
    }

    @Test func jwtConnectionsMustAuthenticateFirstAndStayWithinTheirEntitlements() {
        let verifier = TokenVerifier(secret: TokenVerifierTests.secret)
        var first = Harness { $0.auth = .jwt(verifier) }
        first.open()
        first.send(#"{"op":"sub","id":1,"subjects":["/question"]}"#)
        #expect(first.take() == [
            .count(.frameReceived), .count(.error(.unauthorized)),
            .closeFrame(code: 1008, reason: #"authenticate first: {"op":"auth","token":...}"#), .close(.afterFlush),
        ])

        var harness = Harness { $0.auth = .jwt(verifier) }
        harness.open()
        harness.send(#"{"op":"auth","id":1,"token":"\#(TokenVerifierTests.alice)"}"#)
        #expect(harness.take() == [.count(.frameReceived), .trustCheckMoved, .text(#"{"op":"ok","id":1}"#)])
        #expect(harness.session.identity?.user == "alice")
        harness.send(#"{"op":"sub","id":2,"subjects":["/top/bob"]}"#)
        #expect(harness.take() == [
            .count(.frameReceived), .count(.error(.forbidden)),
            .text(#"{"op":"err","id":2,"code":"forbidden","message":"may not subscribe to /top/bob"}"#),
        ])
        harness.send(#"{"op":"pub","id":3,"subject":"/answer/alice","data":1}"#)
        #expect(harness.take().last == .publish(id: 3, subject: "/answer/alice", data: "1", user: "alice"))
    }

    @Test func aBadTokenAtTheUpgradeIsRefusedWith401() {
        var harness = Harness { $0.auth = .jwt(TokenVerifier(secret: TokenVerifierTests.secret)) }
        harness.receive(Self.upgrade.replacingOccurrences(of: "GET /ws ", with: "GET /ws?token=\(TokenVerifierTests.expired) "))
        let actions = harness.take()
        #expect(actions.first == .count(.error(.unauthorized)))
        guard case .http(let response) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
        #expect(response.hasPrefix("HTTP/1.1 401"))
        #expect(harness.session.phase == .closing)
    }

    @Test func controlFramesAndBinaryMessages() {
        var harness = Harness()
        harness.open()
        harness.receive(FrameEncoder.frame(opcode: .ping, payload: [1, 2, 3], maskKey: 9))
        #expect(harness.take() == [.pong([1, 2, 3])])
        harness.receive(FrameEncoder.frame(opcode: .binary, payload: [0], maskKey: 9))
        #expect(harness.take() == [
            .count(.error(.unsupportedData)), .closeFrame(code: 1003, reason: "protocol v1 uses text frames"),
            .close(.afterFlush),
        ])
        var closing = Harness()
        closing.open()
        closing.receive(FrameEncoder.closeFrame(code: .goingAway, maskKey: 3))
        #expect(closing.take() == [.closeFrame(code: 1001, reason: ""), .close(.afterFlush)])
        // Bytes after the close are ignored.
        closing.send(#"{"op":"unsub","id":1,"subjects":["/a"]}"#)
        #expect(closing.take().isEmpty)
    }

    @Test func anUnmaskedFrameIsAProtocolError() {
        var harness = Harness()
        harness.open()
        harness.receive(FrameEncoder.frame(opcode: .text, payload: Array("{}".utf8)))
        let actions = harness.take()
        #expect(actions.first == .count(.error(.protocolError)))
        #expect(actions.last == .close(.afterFlush))
    }

    @Test func requestsAfterTheRingClosedTheConnectionAreIgnored() {
        var harness = Harness()
        harness.open()
        harness.sink.isOpen = false
        harness.send(#"{"op":"pub","id":1,"subject":"/answer/x","data":1}"#)
        #expect(harness.take().isEmpty)
    }

    @Test func handshakeTimeout() {
        var http = Harness()
        http.session.handshakeExpired(rules: http.rules, into: &http.sink)
        let actions = http.take()
        #expect(actions.first == .count(.error(.handshakeTimeout)))
        guard case .http(let response) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
        #expect(response.hasPrefix("HTTP/1.1 408"))

        var open = Harness()
        open.open()
        open.session.handshakeExpired(rules: open.rules, into: &open.sink)
        #expect(open.take().isEmpty, "an upgraded --auth none connection has its identity")

        var silent = Harness { $0.auth = .jwt(TokenVerifier(secret: TokenVerifierTests.secret)) }
        silent.open()
        silent.session.handshakeExpired(rules: silent.rules, into: &silent.sink)
        #expect(silent.take() == [
            .count(.error(.unauthorized)), .closeFrame(code: 1008, reason: "no auth message in time"), .close(.afterFlush),
        ])
    }

    @Test func aSilentConnectionIsPingedThenClosed() {
        let second: Int64 = 1_000_000_000
        var harness = Harness { $0.idleTimeout = .seconds(10) }
        harness.open()
        harness.session.checkTrust(now: 10 * second, rules: harness.rules, into: &harness.sink)
        #expect(harness.take() == [.ping])
        harness.session.checkTrust(now: 20 * second, rules: harness.rules, into: &harness.sink)
        #expect(harness.take() == [
            .count(.error(.idleTimeout)), .closeFrame(code: 1001, reason: "idle timeout: no answer to ping"),
            .close(.afterFlush),
        ])
    }

    @Test func theNextTrustCheckIsDueWhenTheSilenceWouldBeTooLong() {
        let second: Int64 = 1_000_000_000
        var harness = Harness { $0.idleTimeout = .seconds(10) }
        #expect(harness.session.nanosecondsUntilTrustCheck(now: 0, unixNow: harness.sink.unixNow, rules: harness.rules) == nil)
        harness.open()
        #expect(harness.session.nanosecondsUntilTrustCheck(now: 3 * second, unixNow: harness.sink.unixNow, rules: harness.rules) == 7 * second)
        harness.session.checkTrust(now: 10 * second, rules: harness.rules, into: &harness.sink)
        #expect(harness.take() == [.ping])
        // After the ping, the close is due one idle timeout later.
        #expect(harness.session.nanosecondsUntilTrustCheck(now: 10 * second, unixNow: harness.sink.unixNow, rules: harness.rules) == 10 * second)

        var never = Harness { $0.idleTimeout = nil }
        never.open()
        #expect(never.session.nanosecondsUntilTrustCheck(now: 0, unixNow: never.sink.unixNow, rules: never.rules) == nil)
    }

    @Test func refusedAndShutDownByPhase() {
        var http = Harness()
        http.session.refuse(reason: "too many", rules: http.rules, into: &http.sink)
        guard case .http(let response) = http.take().first else { Issue.record("no response"); return }
        #expect(response.hasPrefix("HTTP/1.1 503"))

        var open = Harness()
        open.open()
        open.session.shutDown(rules: open.rules, into: &open.sink)
        #expect(open.take() == [.closeFrame(code: 1001, reason: "gateway shutting down"), .close(.afterFlush)])
        var waiting = Harness()
        waiting.session.shutDown(rules: waiting.rules, into: &waiting.sink)
        #expect(waiting.take() == [.close(.now)])
    }

    /// A reply that cannot be built (the frame pool is spent) is counted and the connection
    /// closed: the client is not left waiting for an ok that never comes.
    @Test func aReplyThatCannotBeBuiltClosesTheConnection() throws {
        var harness = Harness(poolCapacity: 2)
        harness.open()  // the 101 used one frame; it went back to the pool
        let first = try harness.rules.writer.ok(id: 0)
        let second = try harness.rules.writer.ok(id: 0)
        harness.send(#"{"op":"unsub","id":1,"subjects":["/a"]}"#)
        #expect(harness.take() == [
            .count(.frameReceived), .unsubscribe(["/a"]),
            .count(.error(.replyDropped)), .count(.error(.replyDropped)), .close(.now),
        ])
        #expect(harness.session.phase == .closing)
        _ = consume first
        _ = consume second
        #expect(harness.sink.frames.framesInUse == 0, "every frame went back to the pool with its owner")

        // Before the upgrade there is no WebSocket to say why: the connection just closes.
        var upgrading = Harness(poolCapacity: 1)
        let only = try upgrading.rules.writer.ok(id: 0)
        upgrading.receive(Self.upgrade)
        #expect(upgrading.take() == [.count(.error(.replyDropped)), .close(.now)])
        #expect(upgrading.session.phase == .closing)
        _ = consume only
        #expect(upgrading.sink.frames.framesInUse == 0)
    }

    // MARK: - permessage-deflate

    static let deflateUpgrade = upgrade.replacingOccurrences(
        of: "Sec-WebSocket-Protocol: stadium.v1\r\n",
        with: "Sec-WebSocket-Protocol: stadium.v1\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")

    /// A compressed text message masked as a client sends it (RSV1, the tail 00 00 FF FF removed).
    static func compressedFrame(_ payload: [UInt8]) -> [UInt8] {
        let deflater = MessageDeflater()!
        let deflated = deflater.compress(payload.span.bytes) { $0.withUnsafeBytes { Array($0) } }!
        return FrameEncoder.frame(opcode: .text, payload: deflated, compressed: true, maskKey: 0x1234_5678)
    }

    @Test func anOfferedDeflateIsAgreedAndCompressedPubsAreInflated() {
        var harness = Harness()
        harness.receive(Self.deflateUpgrade)
        let actions = harness.take()
        guard case .http(let response) = actions.first else { Issue.record("no 101: \(actions)"); return }
        #expect(response.contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"))
        #expect(Array(actions.dropFirst()) == [.compressionAgreed])
        let data = "{\"question_id\":\"q007-r41\",\"answer\":1,\"padding\":\"\(String(repeating: "x", count: 80))\"}"
        harness.receive(Self.compressedFrame(Array("{\"op\":\"pub\",\"id\":3,\"subject\":\"/answer/alice\",\"data\":\(data)}".utf8)))
        #expect(harness.take() == [.count(.frameReceived), .publish(id: 3, subject: "/answer/alice", data: data, user: "anonymous")])
    }

    @Test func withCompressionOffTheOfferIsIgnored() {
        var harness = Harness { $0.compression = false }
        harness.receive(Self.deflateUpgrade)
        let actions = harness.take()
        guard case .http(let response) = actions.first else { Issue.record("no 101: \(actions)"); return }
        #expect(!response.contains("Sec-WebSocket-Extensions"))
        #expect(actions.count == 1)
    }

    @Test func aDecompressionBombIsClosedWith1009AndCounted() {
        var harness = Harness()
        harness.receive(Self.deflateUpgrade)
        harness.sink.actions.removeAll()
        harness.receive(Self.compressedFrame([UInt8](repeating: 0x20, count: 1 << 20)))
        #expect(harness.take() == [
            .count(.error(.inflatedTooBig)), .closeFrame(code: 1009, reason: "message over 65536 bytes once inflated"),
            .close(.afterFlush),
        ])
    }

    @Test func corruptDeflateDataIsClosedWith1007AndCounted() {
        var harness = Harness()
        harness.receive(Self.deflateUpgrade)
        harness.sink.actions.removeAll()
        harness.receive(FrameEncoder.frame(opcode: .text, payload: [0xFF, 0xFF, 0xFF], compressed: true, maskKey: 9))
        let actions = harness.take()
        #expect(actions.first == .count(.error(.inflateFailed)))
        guard case .closeFrame(1007, _) = actions.dropFirst().first else { Issue.record("\(actions)"); return }
    }

    @Test func rsv1WithoutAgreementIsAProtocolError() {
        var harness = Harness()
        harness.open()
        harness.receive(FrameEncoder.frame(opcode: .text, payload: Array("abc".utf8), compressed: true, maskKey: 9))
        #expect(harness.take() == [
            .count(.error(.protocolError)), .closeFrame(code: 1002, reason: "reserved bits set without a negotiated extension"),
            .close(.afterFlush),
        ])
    }
}

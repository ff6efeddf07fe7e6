/// permessage-deflate (RFC 7692): the Sec-WebSocket-Extensions grammar, which offers the server
/// accepts, and compressed messages through the reader (limits on the inflated size, corrupt
/// data, RSV1 without an agreement, fragments).
import Foundation
import Testing
import WebSocket

@Suite struct ExtensionHeaderTests {
    @Test func browserOfferParses() {
        let offers = ExtensionOffer.parse(["permessage-deflate; client_max_window_bits"])
        #expect(offers == [ExtensionOffer("permessage-deflate", [.init("client_max_window_bits")])])
    }

    @Test func severalOffersAcrossLinesKeepTheirOrder() {
        let offers = ExtensionOffer.parse([
            "permessage-deflate; server_max_window_bits=10 , x-webkit-deflate-frame",
            "permessage-deflate;client_max_window_bits=\"12\"",
        ])
        #expect(offers == [
            ExtensionOffer("permessage-deflate", [.init("server_max_window_bits", "10")]),
            ExtensionOffer("x-webkit-deflate-frame"),
            ExtensionOffer("permessage-deflate", [.init("client_max_window_bits", "12")]),
        ])
    }

    @Test func emptyListElementsAreIgnored() {
        #expect(ExtensionOffer.parse([", permessage-deflate ,,"]) == [ExtensionOffer("permessage-deflate")])
        #expect(ExtensionOffer.parse([""]) == [])
    }

    @Test(arguments: [
        "permessage-deflate;", "permessage-deflate; =15", "permessage-deflate; a=", "permessage-deflate a",
        "permessage-deflate; a=\"1 5\"", "permessage-deflate; a=\"15", "per message", "permessage-deflate; a=b=c",
        "[deflate]",
    ])
    func badSyntaxIsRefused(value: String) {
        #expect(ExtensionOffer.parse([value]) == nil)
    }
}

@Suite struct NegotiationTests {
    static let answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    private func negotiate(_ value: String) -> String? {
        PerMessageDeflate.negotiate(ExtensionOffer.parse([value])!)?.response
    }

    @Test func browserOfferIsAcceptedWithoutContextTakeover() {
        #expect(negotiate("permessage-deflate; client_max_window_bits") == Self.answer)
        #expect(negotiate("permessage-deflate") == Self.answer)
        #expect(negotiate("Permessage-Deflate; Server_No_Context_Takeover") == Self.answer)
    }

    @Test func aFifteenBitServerWindowIsAnswered() {
        #expect(negotiate("permessage-deflate; server_max_window_bits=15") == Self.answer + "; server_max_window_bits=15")
    }

    @Test func anOfferThatCannotBeHonouredFallsToTheNext() {
        let value = "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=9"
        #expect(negotiate(value) == Self.answer)
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=14",
        "permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=015", "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_no_context_takeover=1", "permessage-deflate; mystery",
        "permessage-deflate; client_max_window_bits; client_max_window_bits", "x-webkit-deflate-frame",
    ])
    func offersTheRFCSaysToDeclineAreDeclined(value: String) {
        #expect(negotiate(value) == nil)
    }

    private func handshake(_ extensions: [String], compression: Bool = true) throws -> HandshakeDecision {
        let lines = [
            "Host: localhost", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
        ] + extensions.map { "Sec-WebSocket-Extensions: \($0)" }
        let text = "GET / HTTP/1.1\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n"
        return WebSocketHandshake.evaluate(try requestHead(text), compression: compression)
    }

    @Test func handshakeAnswersTheAgreement() throws {
        guard case .upgrade(let response, _, let deflate) = try handshake(["permessage-deflate; client_max_window_bits"])
        else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(deflate)
        #expect(String(decoding: response, as: UTF8.self).contains("\r\nSec-WebSocket-Extensions: \(Self.answer)\r\n"))
    }

    @Test func handshakeWithoutCompressionIgnoresTheOffer() throws {
        guard case .upgrade(let response, _, let deflate) = try handshake(["permessage-deflate"], compression: false) else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(!deflate)
        #expect(!String(decoding: response, as: UTF8.self).contains("Sec-WebSocket-Extensions"))
    }

    @Test func handshakeWithADeclinedOfferHasNoExtension() throws {
        guard case .upgrade(let response, _, let deflate) = try handshake(["permessage-deflate; server_max_window_bits=9"])
        else {
            Issue.record("expected an upgrade")
            return
        }
        #expect(!deflate)
        #expect(!String(decoding: response, as: UTF8.self).contains("Sec-WebSocket-Extensions"))
    }

    @Test func malformedExtensionsHeaderIsA400() throws {
        #expect(try handshake(["permessage-deflate;"]) == .reject(status: 400, reason: "malformed Sec-WebSocket-Extensions header"))
    }
}

@Suite struct ClientAgreementTests {
    @Test func theGatewaysAnswerIsAgreed() {
        #expect(PerMessageDeflate.clientAccepts([NegotiationTests.answer]) == true)
        #expect(PerMessageDeflate.clientAccepts([NegotiationTests.answer + "; server_max_window_bits=15"]) == true)
        #expect(PerMessageDeflate.clientAccepts([]) == false)
    }

    @Test(arguments: [
        "permessage-deflate", "permessage-deflate; client_no_context_takeover", "x-webkit-deflate-frame",
        "permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover; mystery", "permessage-deflate; server_no_context_takeover;",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=99",
    ])
    func answersAClientCannotUseAreRefused(value: String) {
        #expect(PerMessageDeflate.clientAccepts([value]) == nil)
    }

    /// The gateway's 101 for an offer, read back by a client that offered deflate or not.
    private func response(offered: Bool) throws -> (HTTPResponseHead, String) {
        let key = WebSocketHandshake.makeClientKey()
        let request = WebSocketHandshake.clientRequest(
            host: "localhost", key: key, extensions: offered ? PerMessageDeflate.clientOffer : nil)
        let head = try requestHead(String(decoding: request, as: UTF8.self))
        guard case .upgrade(let bytes, _, _) = WebSocketHandshake.evaluate(head, compression: true),
              case .complete(let response, _) = HTTPResponseParser.parse(bytes.span.bytes)
        else { throw HandshakeFailure() }
        return (response, key)
    }

    private struct HandshakeFailure: Error {}

    @Test func aClientThatOfferedDeflateAcceptsTheAnswer() throws {
        let (head, key) = try response(offered: true)
        #expect(try WebSocketHandshake.validateServerResponse(head, key: key, offeredDeflate: true) == "stadium.v1")
        #expect(PerMessageDeflate.clientAccepts(head.headers.values("Sec-WebSocket-Extensions")) == true)
    }

    @Test func anExtensionTheClientDidNotOfferFailsTheHandshake() throws {
        let (head, key) = try response(offered: true)
        #expect(throws: WebSocketClientHandshakeError.unusableExtensions(NegotiationTests.answer)) {
            try WebSocketHandshake.validateServerResponse(head, key: key, offeredDeflate: false)
        }
        let (plain, plainKey) = try response(offered: false)
        #expect(try WebSocketHandshake.validateServerResponse(plain, key: plainKey, offeredDeflate: true) == "stadium.v1")
    }
}

@Suite struct CompressedMessageTests {
    /// A compressed payload as a client sends it (the trailing 00 00 FF FF removed).
    static func deflated(_ message: [UInt8]) -> [UInt8] {
        let deflater = MessageDeflater()!
        return deflater.compress(message.span.bytes) { $0.withUnsafeBytes { Array($0) } }!
    }

    static let message = bytes(String(repeating: "{\"op\":\"pub\",\"subject\":\"/answer/alice\",\"data\":1}", count: 8))

    /// Reads frames as a server that agreed to permessage-deflate.
    private func readCompressed(
        _ wire: [UInt8], inflates: Bool = true, maxMessageBytes: Int = 1 << 16, chunk: Int? = nil
    ) -> (events: [Received], outcome: ReadOutcome?, failure: InflateFailure?) {
        var reader = WebSocketReader(role: .server, maxMessageBytes: maxMessageBytes)
        reader.inflatesMessages = inflates
        let inflater = MessageInflater(limit: maxMessageBytes)!
        defer { withExtendedLifetime(inflater) {} }
        var events: [Received] = []
        var pending: [UInt8] = []
        var offset = 0
        while offset < wire.count {
            let end = min(wire.count, offset + (chunk ?? wire.count))
            pending += wire[offset..<end]
            offset = end
            let outcome = pending.withUnsafeMutableBytes { buffer in
                reader.consume(buffer, inflater: inflater) { events.append(Received($0)) }
            }
            switch outcome {
            case .consumed(let count): pending.removeFirst(count)
            case .fail: return (events, outcome, reader.inflateFailure)
            }
        }
        return (events, nil, reader.inflateFailure)
    }

    private func compressedFrame(_ payload: [UInt8], opcode: WebSocketOpcode = .text, fin: Bool = true) -> [UInt8] {
        FrameEncoder.frame(opcode: opcode, payload: payload, fin: fin, compressed: true, maskKey: 0x0A0B_0C0D)
    }

    @Test func compressedTextIsInflated() {
        let compressed = Self.deflated(Self.message)
        #expect(compressed.count < Self.message.count / 2)
        let read = readCompressed(compressedFrame(compressed), chunk: 7)
        #expect(read.outcome == nil)
        #expect(read.events == [.text(String(decoding: Self.message, as: UTF8.self))])
    }

    @Test func uncompressedMessagesStillPassOnAnAgreedConnection() {
        let read = readCompressed(clientFrame(.text, bytes("plain")))
        #expect(read.events == [.text("plain")])
    }

    @Test func fragmentedCompressedMessageIsInflatedWhole() {
        let compressed = Self.deflated(Self.message)
        let cut = compressed.count / 2
        let wire = compressedFrame(Array(compressed[..<cut]), fin: false)
            + clientFrame(.ping, bytes("in between"))
            + clientFrame(.continuation, Array(compressed[cut...]))
        let read = readCompressed(wire, chunk: 5)
        #expect(read.outcome == nil)
        #expect(read.events == [.ping(bytes("in between")), .text(String(decoding: Self.message, as: UTF8.self))])
    }

    @Test func decompressionBombIs1009() {
        let bomb = Self.deflated([UInt8](repeating: 0x20, count: 4 << 20))
        #expect(bomb.count < 8192)
        let read = readCompressed(compressedFrame(bomb), maxMessageBytes: 1 << 16)
        #expect(read.outcome == .fail(.messageTooBig, reason: "message over 65536 bytes once inflated"))
        #expect(read.failure == .tooBig)
        #expect(read.events.isEmpty)
    }

    @Test func messageOfExactlyTheLimitInflates() {
        let message = [UInt8](repeating: 0x61, count: 1000)
        let read = readCompressed(compressedFrame(Self.deflated(message)), maxMessageBytes: 1000)
        #expect(read.events == [.text(String(repeating: "a", count: 1000))])
        let over = readCompressed(compressedFrame(Self.deflated(message + [0x61])), maxMessageBytes: 1000)
        #expect(over.failure == .tooBig)
    }

    @Test func corruptDeflateDataIs1007() {
        let read = readCompressed(compressedFrame([0xFF, 0xFF, 0xFF, 0xFF, 0x00]))
        guard case .fail(let code, _) = read.outcome else {
            Issue.record("expected a failure")
            return
        }
        #expect(code == .invalidPayloadData)
        #expect(read.failure == .corrupt)
    }

    @Test func inflatedTextMustBeUTF8() {
        let read = readCompressed(compressedFrame(Self.deflated([0x61, 0xFF, 0xFE, 0x62] + Self.message)))
        #expect(read.outcome == .fail(.invalidPayloadData, reason: "text message is not valid UTF-8"))
        #expect(read.failure == nil)
    }

    @Test func rsv1WithoutAnAgreementIsAProtocolError() {
        let read = readCompressed(compressedFrame(Self.deflated(Self.message)), inflates: false)
        #expect(read.outcome == .fail(.protocolError, reason: "reserved bits set without a negotiated extension"))
    }

    @Test func rsv1OnControlAndContinuationFramesIsAProtocolError() {
        let ping = FrameEncoder.frame(opcode: .ping, payload: [], compressed: true, maskKey: 1)
        #expect(readCompressed(ping).outcome == .fail(.protocolError, reason: "RSV1 set on a ping frame"))
        let continued = clientFrame(.text, bytes("a"), fin: false)
            + FrameEncoder.frame(opcode: .continuation, payload: bytes("b"), compressed: true, maskKey: 1)
        #expect(readCompressed(continued).outcome == .fail(.protocolError, reason: "RSV1 set on a continuation frame"))
    }

    @Test func rsv2StaysAProtocolErrorWhenDeflateWasAgreed() {
        var frame = clientFrame(.text, bytes("a"))
        frame[0] |= 0x20
        #expect(readCompressed(frame).outcome == .fail(.protocolError, reason: "reserved bits set without a negotiated extension"))
    }

    /// Outside `#expect`, which cannot capture a span.
    private func deflatedCount(_ deflater: MessageDeflater, _ message: [UInt8]) -> Int? {
        deflater.compress(message.span.bytes) { $0.byteCount }
    }

    @Test func deflaterDeclinesWhatDoesNotShrink() {
        let deflater = MessageDeflater()!
        #expect(deflatedCount(deflater, bytes("{}")) == nil)
        // Pseudo-random bytes (an LCG) have nothing for deflate to find.
        var state: UInt64 = 42
        let noise = (0..<512).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        #expect(deflatedCount(deflater, noise) == nil)
        #expect(deflatedCount(deflater, Self.message) != nil)
    }

    @Test func inflaterIsReusedAcrossMessagesWithoutContext() {
        let inflater = MessageInflater(limit: 1 << 16)!
        defer { withExtendedLifetime(inflater) {} }
        for text in [String(repeating: "first message, ", count: 5), String(repeating: "the second is not like the first; ", count: 3)] {
            let compressed = Self.deflated(bytes(text))
            guard case .inflated(let out) = inflater.inflate(compressed.span.bytes) else {
                Issue.record("expected \(text) to inflate")
                continue
            }
            let inflated = out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            #expect(inflated == text)
        }
    }
}

/// The reader state machine: fragmentation, interleaved control frames, frames
/// split across reads, close frames and every protocol error it must report.
import Testing
import WebSocket

@Suite struct WebSocketReaderTests {
    @Test func fragmentedMessageWithInterleavedPing() {
        let wire = clientFrame(.text, bytes("Hel"), fin: false)
            + clientFrame(.ping, bytes("are you there"))
            + clientFrame(.continuation, bytes("lo, "), fin: false)
            + clientFrame(.pong, [])
            + clientFrame(.continuation, bytes("world"))
        #expect(read(wire).events == [.ping(bytes("are you there")), .pong([]), .text("Hello, world")])
    }

    @Test func fragmentedBinaryThenUnfragmentedMessage() {
        let wire = clientFrame(.binary, [1, 2], fin: false) + clientFrame(.continuation, [3])
            + clientFrame(.text, bytes("next"))
        #expect(read(wire).events == [.binary([1, 2, 3]), .text("next")])
    }

    @Test(arguments: [1, 2, 3, 5, 7, 13])
    func framesSplitAcrossReadsComeOutWhole(chunk: Int) {
        let big = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let wire = clientFrame(.text, bytes("first")) + clientFrame(.binary, big)
            + clientFrame(.text, bytes("frag"), fin: false) + clientFrame(.continuation, bytes("ment"))
        let log = read(wire, chunkSizes: Array(repeating: chunk, count: wire.count))
        #expect(log.failure == nil)
        #expect(log.events == [.text("first"), .binary(big), .text("fragment")])
        #expect(log.unconsumed == 0)
    }

    @Test func partialHeaderAndPartialPayloadAreLeftUnconsumed() {
        var reader = WebSocketReader(role: .server, maxMessageBytes: 1024)
        var wire = clientFrame(.binary, Array(repeating: 9, count: 200))
        var events = 0
        let partialHeader = wire.withUnsafeMutableBytes {
            reader.consume(UnsafeMutableRawBufferPointer(rebasing: $0[..<3])) { _ in events += 1 }
        }
        let partialPayload = wire.withUnsafeMutableBytes {
            reader.consume(UnsafeMutableRawBufferPointer(rebasing: $0[..<100])) { _ in events += 1 }
        }
        #expect(partialHeader == .consumed(0))
        #expect(partialPayload == .consumed(0))
        #expect(events == 0)
        let whole = wire.withUnsafeMutableBytes { reader.consume($0) { _ in events += 1 } }
        #expect(whole == .consumed(wire.count))
        #expect(events == 1)
    }

    @Test func unfragmentedMessageIsUnmaskedInPlace() {
        var wire = clientFrame(.text, bytes("abc"))
        var reader = WebSocketReader(role: .server, maxMessageBytes: 16)
        var seenAddress: UnsafeRawPointer?
        let start = wire.withUnsafeMutableBytes { buffer in
            _ = reader.consume(buffer) { event in
                if case .text(let payload) = event { seenAddress = payload.withUnsafeBytes { $0.baseAddress } }
            }
            return UnsafeRawPointer(buffer.baseAddress!)
        }
        #expect(seenAddress == start + 6)
        #expect(Array(wire[6...]) == bytes("abc"))
    }

    @Test func closeFrameEndsReading() {
        let wire = clientFrame(.close, FrameEncoder.closePayload(code: .goingAway, reason: "bye"))
            + clientFrame(.text, bytes("ignored"))
        let log = read(wire)
        #expect(log.events == [.close(1001, "bye")])
        #expect(log.failure == nil)
        #expect(read(clientFrame(.close, [])).events == [.close(nil, "")])
    }

    @Test func idleReaderIsSmall() {
        #expect(MemoryLayout<WebSocketReader>.size <= 24)
    }
}

@Suite struct WebSocketReaderErrorTests {
    @Test func unmaskedClientFrameIsAProtocolError() {
        #expect(read(FrameEncoder.frame(opcode: .text, payload: bytes("hi")), role: .server).failure == .protocolError)
    }

    @Test func maskedServerFrameIsAProtocolError() {
        #expect(read(clientFrame(.text, bytes("hi")), role: .client).failure == .protocolError)
    }

    @Test(arguments: [UInt8(0x40), 0x20, 0x10])
    func reservedBitIsAProtocolError(bit: UInt8) {
        var wire = clientFrame(.text, bytes("hi"))
        wire[0] |= bit
        #expect(read(wire).failure == .protocolError)
    }

    @Test(arguments: [UInt8(3), 7, 0xB, 0xF])
    func unknownOpcodeIsAProtocolError(opcode: UInt8) {
        #expect(read(clientFrame(WebSocketOpcode(rawValue: opcode), [])).failure == .protocolError)
    }

    @Test func fragmentedControlFrameIsAProtocolError() {
        #expect(read(clientFrame(.ping, [], fin: false)).failure == .protocolError)
    }

    @Test func controlPayloadOver125IsAProtocolError() {
        #expect(read(clientFrame(.ping, Array(repeating: 0, count: 125))).events.count == 1)
        let oversized = clientFrame(.ping, Array(repeating: 0, count: 126))
        // Rejected from the header alone, before the payload arrives.
        #expect(read(Array(oversized.prefix(8))).failure == .protocolError)
    }

    @Test func continuationWithoutStartIsAProtocolError() {
        #expect(read(clientFrame(.continuation, bytes("x"))).failure == .protocolError)
    }

    @Test func newMessageDuringFragmentedOneIsAProtocolError() {
        let wire = clientFrame(.text, bytes("a"), fin: false) + clientFrame(.binary, [1])
        #expect(read(wire).failure == .protocolError)
    }

    @Test func oversizedMessageFailsFromTheHeaderAlone() {
        let frame = clientFrame(.binary, Array(repeating: 1, count: 101))
        let log = read(Array(frame.prefix(8)), maxMessageBytes: 100)
        #expect(log.failure == .messageTooBig)
        #expect(read(clientFrame(.binary, Array(repeating: 1, count: 100)), maxMessageBytes: 100).failure == nil)
    }

    @Test func fragmentedMessageOverLimitFailsOnTheRunningTotal() {
        let wire = clientFrame(.binary, Array(repeating: 1, count: 60), fin: false)
            + clientFrame(.continuation, Array(repeating: 1, count: 41))
        #expect(read(wire, maxMessageBytes: 100).failure == .messageTooBig)
    }

    @Test func hugeDeclaredLengthFailsWithoutBuffering() {
        let header: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4]
        #expect(read(header).failure == .messageTooBig)
    }

    @Test func invalidUTF8TextIsInvalidPayloadData() {
        #expect(read(clientFrame(.text, [0x68, 0xC0, 0xAF])).failure == .invalidPayloadData)
    }

    @Test func invalidFragmentFailsBeforeTheMessageEnds() {
        let log = read(clientFrame(.text, [0x41, 0xFF], fin: false))
        #expect(log.failure == .invalidPayloadData)
    }

    @Test func textTruncatedInTheFinalFragmentIsInvalid() {
        let wire = clientFrame(.text, bytes("ok"), fin: false) + clientFrame(.continuation, [0xE2, 0x82])
        #expect(read(wire).failure == .invalidPayloadData)
    }

    @Test func oneByteClosePayloadIsAProtocolError() {
        #expect(read(clientFrame(.close, [0x03])).failure == .protocolError)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
    func closeCodeNotAllowedOnWireIsAProtocolError(code: UInt16) {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        #expect(read(clientFrame(.close, payload)).failure == .protocolError)
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
    func allowedCloseCodesAreReported(code: UInt16) {
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        #expect(read(clientFrame(.close, payload)).events == [.close(code, "")])
    }

    @Test func closeReasonMustBeUTF8() {
        #expect(read(clientFrame(.close, [0x03, 0xE8, 0xCE, 0xBA, 0xE1])).failure == .invalidPayloadData)
    }

    @Test func readerStaysFailed() {
        var reader = WebSocketReader(role: .server, maxMessageBytes: 10)
        var bad = FrameEncoder.frame(opcode: .text, payload: [])
        var good = clientFrame(.text, [])
        let first = bad.withUnsafeMutableBytes { reader.consume($0) { _ in } }
        let second = good.withUnsafeMutableBytes { reader.consume($0) { _ in } }
        #expect(first == .fail(.protocolError, reason: "client frames must be masked"))
        guard case .fail = second else {
            Issue.record("a failed reader accepted more frames")
            return
        }
    }
}

/// Every payload length form (7, 16 and 64 bits) at its boundaries, encoded and
/// decoded, masked and unmasked; and header parsing on its own.
import Testing
import WebSocket

@Suite struct FrameLengthTests {
    @Test(arguments: [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
    func headerLengthForm(payloadCount: Int, unmaskedHeader: Int) {
        #expect(FrameEncoder.headerLength(payloadCount: payloadCount, masked: false) == unmaskedHeader)
        #expect(FrameEncoder.headerLength(payloadCount: payloadCount, masked: true) == unmaskedHeader + 4)
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536, 70000])
    func roundTripThroughReader(payloadCount: Int) {
        let payload = (0..<payloadCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        #expect(read(clientFrame(.binary, payload)).events == [.binary(payload)])
        #expect(read(FrameEncoder.frame(opcode: .binary, payload: payload), role: .client).events == [.binary(payload)])
    }

    @Test(arguments: [125, 126, 65535, 65536])
    func headerParsesWhatEncoderWrote(payloadCount: Int) throws {
        var buffer = [UInt8](repeating: 0, count: FrameEncoder.maxHeaderLength)
        let written = buffer.withUnsafeMutableBytes {
            FrameEncoder.writeHeader(into: $0, opcode: .text, fin: false, payloadCount: payloadCount, maskKey: 0xA1B2_C3D4)
        }
        let parsed = FrameHeader.parse(buffer.span.bytes.extracting(..<written))
        let expected = FrameHeader(
            fin: false, opcode: .text, maskKey: 0xA1B2_C3D4, payloadLength: UInt64(payloadCount), headerLength: written)
        #expect(parsed == .header(expected))
        let truncated = FrameHeader.parse(buffer.span.bytes.extracting(..<(written - 1)))
        #expect(truncated == .incomplete)
    }

    @Test func sixtyFourBitLengthWithTopBitIsInvalid() {
        let wire: [UInt8] = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1]
        guard case .invalid = FrameHeader.parse(wire.span.bytes) else {
            Issue.record("expected an invalid header")
            return
        }
        #expect(read(wire, role: .client).failure == .protocolError)
    }

    @Test func maskingTwiceRestoresPayload() {
        let original = (0..<37).map { UInt8($0) }
        var data = original
        data.withUnsafeMutableBytes { FrameEncoder.mask($0, key: 0xDEAD_BEEF) }
        #expect(data != original)
        #expect(data[0] == 0xDE && data[1] == 1 ^ 0xAD && data[4] == 4 ^ 0xDE)
        data.withUnsafeMutableBytes { FrameEncoder.mask($0, key: 0xDEAD_BEEF) }
        #expect(data == original)
    }

    @Test func maskingMatchesTheByteRuleAtEveryLength() {
        // RFC 6455 5.3: byte i is XORed with key byte i mod 4. The 16-, 8- and 1-byte steps must agree.
        let key: UInt32 = 0x3A5C_91E7
        let keyBytes: [UInt8] = [0x3A, 0x5C, 0x91, 0xE7]
        for length in 0...70 {
            let original = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var data = original
            data.withUnsafeMutableBytes { FrameEncoder.mask($0, key: key) }
            let expected = original.enumerated().map { $1 ^ keyBytes[$0 % 4] }
            #expect(data == expected, "length \(length)")
        }
    }

    @Test func closePayloadKeepsCodeAndCutsReasonOnCharacterBoundary() {
        #expect(FrameEncoder.closePayload(code: .normalClosure, reason: "bye") == [0x03, 0xE8] + bytes("bye"))
        let long = FrameEncoder.closePayload(code: .goingAway, reason: String(repeating: "é", count: 100))
        #expect(long.count == 124)
        #expect(read(FrameEncoder.closeFrame(code: .goingAway, reason: "é", maskKey: 7)).events == [.close(1001, "é")])
    }
}

/// The frame examples of RFC 6455 section 5.7, byte for byte, in both directions.
import Testing
import WebSocket

@Suite struct RFCExampleTests {
    let hello = bytes("Hello")
    let maskKey: UInt32 = 0x37FA_213D

    @Test func singleFrameUnmaskedText() {
        let wire: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        #expect(FrameEncoder.frame(opcode: .text, payload: hello) == wire)
        #expect(read(wire, role: .client).events == [.text("Hello")])
    }

    @Test func singleFrameMaskedText() {
        let wire: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(FrameEncoder.frame(opcode: .text, payload: hello, maskKey: maskKey) == wire)
        #expect(read(wire, role: .server).events == [.text("Hello")])
    }

    @Test func fragmentedUnmaskedText() {
        let first: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C]
        let second: [UInt8] = [0x80, 0x02, 0x6C, 0x6F]
        #expect(FrameEncoder.frame(opcode: .text, payload: bytes("Hel"), fin: false) == first)
        #expect(FrameEncoder.frame(opcode: .continuation, payload: bytes("lo")) == second)
        #expect(read(first + second, role: .client).events == [.text("Hello")])
    }

    @Test func unmaskedPingAndMaskedPong() {
        let ping: [UInt8] = [0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        let pong: [UInt8] = [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(FrameEncoder.frame(opcode: .ping, payload: hello) == ping)
        #expect(FrameEncoder.frame(opcode: .pong, payload: hello, maskKey: maskKey) == pong)
        #expect(read(ping, role: .client).events == [.ping(hello)])
        #expect(read(pong, role: .server).events == [.pong(hello)])
    }

    @Test func binary256BytesUsesSixteenBitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
        let wire = FrameEncoder.frame(opcode: .binary, payload: payload)
        #expect(Array(wire.prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(wire.count == 4 + 256)
        #expect(read(wire, role: .client).events == [.binary(payload)])
    }

    @Test func binary64KiBUsesSixtyFourBitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let wire = FrameEncoder.frame(opcode: .binary, payload: payload)
        #expect(Array(wire.prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00])
        #expect(wire.count == 10 + 65536)
        #expect(read(wire, role: .client).events == [.binary(payload)])
    }
}

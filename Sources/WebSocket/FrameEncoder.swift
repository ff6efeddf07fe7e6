/// Writing frames: a header into caller-owned memory (so the gateway can place
/// header and payload in one preallocated buffer), masking, and array conveniences
/// for control frames, clients and tests.
public enum FrameEncoder {
    /// The longest header: 2 bytes, a 64-bit length and a mask key.
    public static let maxHeaderLength = 14

    /// The longest payload a control frame may carry (section 5.5).
    public static let maxControlPayload = 125

    public static func headerLength(payloadCount: Int, masked: Bool) -> Int {
        precondition(payloadCount >= 0, "negative payload length")
        let lengthBytes: Int
        switch payloadCount {
        case 0...125: lengthBytes = 2
        case 126...0xFFFF: lengthBytes = 4
        default: lengthBytes = 10
        }
        return lengthBytes + (masked ? 4 : 0)
    }

    /// Writes a header at the start of `buffer` and returns its length. The buffer must
    /// hold at least `headerLength(payloadCount:masked:)` bytes. `compressed` sets RSV1, which
    /// marks the first frame of a permessage-deflate message (RFC 7692 section 6).
    @discardableResult
    public static func writeHeader(
        into buffer: UnsafeMutableRawBufferPointer,
        opcode: WebSocketOpcode,
        fin: Bool = true,
        compressed: Bool = false,
        payloadCount: Int,
        maskKey: UInt32? = nil
    ) -> Int {
        let length = headerLength(payloadCount: payloadCount, masked: maskKey != nil)
        precondition(buffer.count >= length, "buffer of \(buffer.count) bytes cannot hold a \(length)-byte header")
        buffer[0] = (fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode.rawValue
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var offset: Int
        switch payloadCount {
        case 0...125:
            buffer[1] = maskBit | UInt8(payloadCount)
            offset = 2
        case 126...0xFFFF:
            buffer[1] = maskBit | 126
            buffer.storeBytes(of: UInt16(payloadCount).bigEndian, toByteOffset: 2, as: UInt16.self)
            offset = 4
        default:
            buffer[1] = maskBit | 127
            buffer.storeBytes(of: UInt64(payloadCount).bigEndian, toByteOffset: 2, as: UInt64.self)
            offset = 10
        }
        if let maskKey {
            buffer.storeBytes(of: maskKey.bigEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        return offset
    }

    /// XORs `payload` with the mask key in place; applying it twice restores the data.
    /// The payload must start at payload byte 0 of the frame.
    public static func mask(_ payload: UnsafeMutableRawBufferPointer, key: UInt32) {
        let count = payload.count
        let keyWire = key.bigEndian
        // The key bytes repeated in wire order: the same memory pattern on any endianness.
        let wide = UInt64(keyWire) | UInt64(keyWire) << 32
        var index = 0
        // Sixteen bytes a step (one vector register), then the rest eight and one at a time.
        let wideVector = SIMD2<UInt64>(repeating: wide)
        while index + 16 <= count {
            let words = payload.loadUnaligned(fromByteOffset: index, as: SIMD2<UInt64>.self)
            payload.storeBytes(of: words ^ wideVector, toByteOffset: index, as: SIMD2<UInt64>.self)
            index += 16
        }
        while index + 8 <= count {
            let word = payload.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            payload.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            let shift = UInt32(24 - 8 * (index & 3))
            payload[index] ^= UInt8(truncatingIfNeeded: key >> shift)
            index += 1
        }
    }

    /// One whole frame as an array: for control frames, clients and tests.
    public static func frame(
        opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, compressed: Bool = false, maskKey: UInt32? = nil
    ) -> [UInt8] {
        let header = headerLength(payloadCount: payload.count, masked: maskKey != nil)
        return [UInt8](unsafeUninitializedCapacity: header + payload.count) { storage, initialized in
            let raw = UnsafeMutableRawBufferPointer(storage)
            writeHeader(
                into: raw, opcode: opcode, fin: fin, compressed: compressed, payloadCount: payload.count, maskKey: maskKey)
            let body = UnsafeMutableRawBufferPointer(rebasing: raw[header...])
            payload.withUnsafeBytes { body.copyMemory(from: $0) }
            if let maskKey {
                mask(body, key: maskKey)
            }
            initialized = header + payload.count
        }
    }

    /// The payload of a close frame: the code in network order, then the reason cut
    /// to fit 125 bytes on a character boundary.
    public static func closePayload(code: CloseCode, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        for scalar in reason.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            guard payload.count + encoded.count <= maxControlPayload else { break }
            payload.append(contentsOf: encoded)
        }
        return payload
    }

    /// A complete close frame.
    public static func closeFrame(code: CloseCode, reason: String = "", maskKey: UInt32? = nil) -> [UInt8] {
        frame(opcode: .close, payload: closePayload(code: code, reason: reason), maskKey: maskKey)
    }
}

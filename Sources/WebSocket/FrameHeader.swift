/// Parsing of one frame header (RFC 6455 section 5.2): flags, opcode, the 7/16/64-bit
/// payload length and the mask key. Semantic checks (reserved bits, opcodes, masking
/// rules, limits) belong to `WebSocketReader`.
public struct FrameHeader: Hashable, Sendable {
    public var fin: Bool
    /// RSV1-RSV3 as a 3-bit value (RSV1 is 0b100); non-zero needs a negotiated extension.
    public var reservedBits: UInt8
    public var opcode: WebSocketOpcode
    /// The 4 mask bytes read as a big-endian integer (the first wire byte is the top byte).
    public var maskKey: UInt32?
    public var payloadLength: UInt64
    /// Bytes taken by the header itself: 2, 4 or 10, plus 4 when masked.
    public var headerLength: Int

    public var isMasked: Bool { maskKey != nil }

    public init(
        fin: Bool, reservedBits: UInt8 = 0, opcode: WebSocketOpcode, maskKey: UInt32?,
        payloadLength: UInt64, headerLength: Int
    ) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskKey = maskKey
        self.payloadLength = payloadLength
        self.headerLength = headerLength
    }

    public enum ParseResult: Hashable, Sendable {
        /// Fewer bytes than the header needs; nothing was consumed.
        case incomplete
        case header(FrameHeader)
        /// A 64-bit length with the most significant bit set (section 5.2 forbids it).
        case invalid(String)
    }

    /// Parses the header at the start of `bytes`, reading nothing past it.
    public static func parse(_ bytes: RawSpan) -> ParseResult {
        bytes.withUnsafeBytes { parse(buffer: $0) }
    }

    static func parse(buffer bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 2 else { return .incomplete }
        let first = bytes[0]
        let second = bytes[1]
        let masked = second & 0x80 != 0
        let shortLength = second & 0x7F
        var offset = 2
        let payloadLength: UInt64
        switch shortLength {
        case 126:
            guard bytes.count >= 4 else { return .incomplete }
            payloadLength = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            offset = 4
        case 127:
            guard bytes.count >= 10 else { return .incomplete }
            var length: UInt64 = 0
            for index in 2..<10 {
                length = length << 8 | UInt64(bytes[index])
            }
            guard length & (1 << 63) == 0 else {
                return .invalid("64-bit payload length has its most significant bit set")
            }
            payloadLength = length
            offset = 10
        default:
            payloadLength = UInt64(shortLength)
        }
        var maskKey: UInt32?
        if masked {
            guard bytes.count >= offset + 4 else { return .incomplete }
            maskKey = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        return .header(
            FrameHeader(
                fin: first & 0x80 != 0,
                reservedBits: (first >> 4) & 0x7,
                opcode: WebSocketOpcode(rawValue: first & 0x0F),
                maskKey: maskKey,
                payloadLength: payloadLength,
                headerLength: offset
            )
        )
    }
}

/// Record layer framing (RFC 8446 section 5.1): what the first bytes of a record say.
public enum TLSContentType: UInt8, Sendable {
    case changeCipherSpec = 20
    case alert = 21
    case handshake = 22
    case applicationData = 23
}

public enum TLSRecordHeader {
    public static let length = 5
    public static let maxPlaintext = 1 << 14
    /// Inner plaintext: content, the type byte, padding (section 5.4).
    public static let maxInnerPlaintext = maxPlaintext + 1
    public static let maxCiphertext = maxPlaintext + 256

    public enum Parsed: Equatable, Sendable {
        /// A whole record of `length` bytes (header included) is at the start of the bytes.
        case complete(type: UInt8, length: Int)
        /// The record needs this many bytes in all (the header's length once it is known).
        case incomplete(needed: Int)
    }

    /// Frames the record at the start of `bytes`; throws when they cannot be a TLS record.
    public static func parse(_ bytes: RawSpan) throws(TLSRecordError) -> Parsed {
        try bytes.withUnsafeBytes { buffer throws(TLSRecordError) in try parse(buffer: buffer) }
    }

    static func parse(buffer bytes: UnsafeRawBufferPointer) throws(TLSRecordError) -> Parsed {
        guard let type = bytes.first else { return .incomplete(needed: length) }
        // Checked before the length is known, so plain HTTP fails at its first byte.
        guard TLSContentType(rawValue: type) != nil else { throw .notTLS }
        if bytes.count >= 2, bytes[1] != 0x03 { throw .notTLS }
        guard bytes.count >= length else { return .incomplete(needed: length) }
        let bodyLength = Int(bytes[3]) << 8 | Int(bytes[4])
        guard bodyLength <= maxCiphertext else { throw .recordOverflow(length: bodyLength) }
        let total = length + bodyLength
        return bytes.count >= total ? .complete(type: type, length: total) : .incomplete(needed: total)
    }

    static func write(type: TLSContentType, bodyLength: Int, into output: UnsafeMutableRawBufferPointer) {
        output[0] = type.rawValue
        output[1] = 0x03
        output[2] = 0x03
        output[3] = UInt8(bodyLength >> 8)
        output[4] = UInt8(bodyLength & 0xFF)
    }
}

/// Decoding of JSON string contents (escapes already validated by `JSONScanner`).
enum JSONEscapes {
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The string a scanned string span denotes. Allocates only for strings longer
    /// than Swift's small-string capacity (15 UTF-8 bytes).
    static func decodeString(_ bytes: UnsafeRawBufferPointer, _ span: JSONValueSpan) -> String {
        precondition(span.kind == .string, "not a string span")
        let content = UnsafeRawBufferPointer(rebasing: bytes[span.stringContentRange])
        guard span.hasEscapes else { return String(decoding: content, as: UTF8.self) }
        // Every escape decodes to fewer bytes than it occupies, so the raw length suffices.
        return String(unsafeUninitializedCapacity: content.count) { output in
            unescape(content, into: output)
        }
    }

    /// Whether a scanned string span denotes exactly `literal` (ASCII).
    static func stringEquals(_ bytes: UnsafeRawBufferPointer, _ span: JSONValueSpan, _ literal: StaticString) -> Bool {
        guard span.kind == .string else { return false }
        if span.hasEscapes {
            return decodeString(bytes, span) == literal.description
        }
        let range = span.stringContentRange
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != expected[offset] {
            return false
        }
        return true
    }

    private static func unescape(_ content: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var read = 0
        var written = 0
        while read < content.count {
            let byte = content[read]
            guard byte == UInt8(ascii: "\\") else {
                output[written] = byte
                written += 1
                read += 1
                continue
            }
            let kind = content[read + 1]
            read += 2
            switch kind {
            case UInt8(ascii: "b"): output[written] = 0x08; written += 1
            case UInt8(ascii: "f"): output[written] = 0x0C; written += 1
            case UInt8(ascii: "n"): output[written] = 0x0A; written += 1
            case UInt8(ascii: "r"): output[written] = 0x0D; written += 1
            case UInt8(ascii: "t"): output[written] = 0x09; written += 1
            case UInt8(ascii: "u"):
                var scalar = UInt32(hexQuad(content, at: read))
                read += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = UInt32(hexQuad(content, at: read + 2))
                    read += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                written += writeUTF8(scalar, into: output, at: written)
            default:  // '"', '\\' and '/' stand for themselves
                output[written] = kind
                written += 1
            }
        }
        return written
    }

    private static func hexQuad(_ content: UnsafeRawBufferPointer, at index: Int) -> UInt16 {
        var value: UInt16 = 0
        for offset in 0..<4 {
            value = value << 4 | UInt16(hexValue(content[index + offset]) ?? 0)
        }
        return value
    }

    private static func writeUTF8(_ scalar: UInt32, into output: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            output[index] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            output[index] = UInt8(0xC0 | scalar >> 6)
            output[index + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[index] = UInt8(0xE0 | scalar >> 12)
            output[index + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[index + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[index] = UInt8(0xF0 | scalar >> 18)
            output[index + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[index + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[index + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}

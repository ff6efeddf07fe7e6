/// Appends JSON fragments to a byte buffer: records are built directly as bytes, without
/// Foundation and without intermediate strings.
extension Array where Element == UInt8 {
    mutating func appendRaw(_ text: String) {
        append(contentsOf: text.utf8)
    }

    mutating func appendJSONString(_ text: String) {
        appendJSONString(utf8: text.utf8)
    }

    mutating func appendJSONString<Bytes: Sequence<UInt8>>(utf8 bytes: Bytes) {
        append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\\"))
            case 0x0A: append(UInt8(ascii: "\\")); append(UInt8(ascii: "n"))
            case 0x0D: append(UInt8(ascii: "\\")); append(UInt8(ascii: "r"))
            case 0x09: append(UInt8(ascii: "\\")); append(UInt8(ascii: "t"))
            case 0..<0x20:
                appendRaw("\\u00")
                append(Self.hexDigit(byte >> 4))
                append(Self.hexDigit(byte & 0x0F))
            default: append(byte)
            }
        }
        append(UInt8(ascii: "\""))
    }

    /// Decimal digits of `value`, appended directly: no string is created.
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(value.magnitude))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    mutating func appendDecimal(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    mutating func appendDecimal(_ value: Int) {
        appendDecimal(Int64(value))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

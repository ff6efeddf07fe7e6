/// Appends JSON text to a caller-provided buffer, or only counts the bytes when it has
/// none, so a message's length and its encoding come from the same code.
/// Never allocates; stops writing (and reports nil) once the buffer is full.
public struct JSONWriter {
    private let buffer: UnsafeMutableRawBufferPointer?
    public private(set) var count = 0
    private var overflowed = false

    /// A writer that only counts.
    public init() {
        self.buffer = nil
    }

    public init(into buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Bytes written, or nil when the buffer was too small.
    public var writtenCount: Int? { overflowed ? nil : count }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if let buffer {
            guard count < buffer.count else { overflowed = true; return }
            buffer[count] = byte
        }
        count += 1
    }

    public mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends borrowed bytes as they are (they must already be JSON where JSON is due).
    public mutating func append(_ bytes: RawSpan) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if let buffer {
            guard count + bytes.count <= buffer.count else { overflowed = true; return }
            if let source = bytes.baseAddress, bytes.count > 0 {
                (buffer.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
            }
        }
        count += bytes.count
    }

    public mutating func append(_ value: Int64) {
        let negative = value < 0
        var magnitude = value.magnitude
        var digits = 1
        var scan = magnitude
        while scan >= 10 { scan /= 10; digits += 1 }
        if negative { append(UInt8(ascii: "-")) }
        guard let buffer else { count += digits; return }
        guard count + digits <= buffer.count else { overflowed = true; return }
        var index = count + digits - 1
        repeat {
            buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
        count += digits
    }

    /// Writes `"..."` with `bytes` escaped; bytes that are not valid UTF-8 become U+FFFD,
    /// one per maximal invalid subpart (as Swift's own decoding does).
    public mutating func appendString(_ bytes: RawSpan) {
        bytes.withUnsafeBytes { appendString($0) }
    }

    mutating func appendString(_ bytes: UnsafeRawBufferPointer) {
        append(UInt8(ascii: "\""))
        var index = 0
        var runStart = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x80 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                index += 1
                continue
            }
            if byte >= 0x80 {
                let length = UTF8Sequence.measure(bytes, at: index, end: bytes.count)
                if length > 0 { index += length; continue }
                appendRun(bytes, runStart..<index)
                append(UnsafeRawBufferPointer(start: Self.replacementCharacter.utf8Start, count: 3))
                index += -length
                runStart = index
                continue
            }
            appendRun(bytes, runStart..<index)
            appendEscape(byte)
            index += 1
            runStart = index
        }
        appendRun(bytes, runStart..<index)
        append(UInt8(ascii: "\""))
    }

    public mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(UnsafeRawBufferPointer($0)) }
    }

    private static let replacementCharacter: StaticString = "\u{FFFD}"

    private mutating func appendRun(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        if !range.isEmpty { append(UnsafeRawBufferPointer(rebasing: bytes[range])) }
    }

    private mutating func appendEscape(_ byte: UInt8) {
        append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): append(UInt8(ascii: "\\"))
        case 0x08: append(UInt8(ascii: "b"))
        case 0x0C: append(UInt8(ascii: "f"))
        case 0x0A: append(UInt8(ascii: "n"))
        case 0x0D: append(UInt8(ascii: "r"))
        case 0x09: append(UInt8(ascii: "t"))
        default:
            append("u00")
            append(Self.hexDigit(byte >> 4))
            append(Self.hexDigit(byte & 0x0F))
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

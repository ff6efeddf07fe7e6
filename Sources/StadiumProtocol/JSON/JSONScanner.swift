/// A validating JSON (RFC 8259) scanner over borrowed bytes that reports where values are
/// instead of building them, so callers can forward a value's exact bytes without a copy.
///
/// Strings must be valid UTF-8 without raw control characters; `\u` escapes must pair
/// surrogates (a lone surrogate cannot become a Swift `String`). Containers may nest
/// `maximumDepth` levels. The scanner never allocates.
public struct JSONScanner: ~Escapable {
    public static let maximumDepth = 64

    /// The bytes of the span this scanner's lifetime depends on (raw for the byte loops).
    private let bytes: UnsafeRawBufferPointer
    private let end: Int
    /// Next byte to read.
    public private(set) var position: Int
    /// Nesting level of the container being iterated by `nextMember`/`nextElement`.
    private var containerDepth = 0
    private var atFirstItem = true

    /// Scans `bytes` from its start; the scanner cannot outlive them.
    @_lifetime(copy bytes)
    public init(_ bytes: RawSpan) {
        self.init(bytes, range: 0..<bytes.byteCount)
    }

    /// Scans only `range` of `bytes`; spans stay relative to the start of `bytes`.
    @_lifetime(copy bytes)
    public init(_ bytes: RawSpan, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.byteCount, "range outside the buffer")
        self.bytes = bytes.withUnsafeBytes { $0 }
        self.end = range.upperBound
        self.position = range.lowerBound
    }

    /// For this module's parsers, already inside `withUnsafeBytes` of a span.
    @_lifetime(borrow buffer)
    init(buffer: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        let range = range ?? 0..<buffer.count
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count, "range outside the buffer")
        self.bytes = buffer
        self.end = range.upperBound
        self.position = range.lowerBound
    }

    /// Validates that `bytes` hold exactly one JSON value (whitespace around it allowed).
    public static func validateDocument(_ bytes: RawSpan) throws(JSONSyntaxError) -> JSONValueSpan {
        var scanner = JSONScanner(bytes)
        let value = try scanner.scanValue()
        try scanner.expectEndOfInput()
        return value
    }

    /// Skips whitespace and scans one complete value, validating everything inside it.
    public mutating func scanValue() throws(JSONSyntaxError) -> JSONValueSpan {
        try scanValue(depth: containerDepth + 1)
    }

    /// Fails unless only whitespace remains.
    public mutating func expectEndOfInput() throws(JSONSyntaxError) {
        skipWhitespace()
        if position < end { throw JSONSyntaxError(offset: position, reason: .trailingData) }
    }

    /// Skips whitespace and enters an object; returns false (consuming nothing but
    /// whitespace) when the next value is not an object. Then call `nextMember` until nil.
    public mutating func beginObject() throws(JSONSyntaxError) -> Bool {
        try beginContainer(UInt8(ascii: "{"))
    }

    /// The next member of the object entered with `beginObject`, or nil after its `}`.
    public mutating func nextMember() throws(JSONSyntaxError) -> JSONMember? {
        guard try advanceToNextItem(closing: UInt8(ascii: "}"), expected: "',' or '}'") else { return nil }
        guard position < end else { throw endOfInput() }
        guard bytes[position] == UInt8(ascii: "\"") else {
            throw JSONSyntaxError(offset: position, reason: .unexpectedByte(bytes[position], expected: "a member name string"))
        }
        let name = try scanString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), expected: "':' after a member name")
        let value = try scanValue(depth: containerDepth + 1)
        return JSONMember(name: name, value: value)
    }

    /// Skips whitespace and enters an array; returns false when the next value is not one.
    public mutating func beginArray() throws(JSONSyntaxError) -> Bool {
        try beginContainer(UInt8(ascii: "["))
    }

    /// The next element of the array entered with `beginArray`, or nil after its `]`.
    public mutating func nextElement() throws(JSONSyntaxError) -> JSONValueSpan? {
        guard try advanceToNextItem(closing: UInt8(ascii: "]"), expected: "',' or ']'") else { return nil }
        return try scanValue(depth: containerDepth + 1)
    }

    // MARK: Containers being iterated

    private mutating func beginContainer(_ opening: UInt8) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard position < end else { throw endOfInput() }
        guard bytes[position] == opening else { return false }
        position += 1
        containerDepth += 1
        atFirstItem = true
        return true
    }

    /// Consumes the separator before the next item; false once the closing byte is consumed.
    private mutating func advanceToNextItem(closing: UInt8, expected: String) throws(JSONSyntaxError) -> Bool {
        precondition(containerDepth > 0, "nextMember/nextElement called outside a container")
        skipWhitespace()
        guard position < end else { throw endOfInput() }
        let byte = bytes[position]
        if byte == closing {
            position += 1
            containerDepth -= 1
            return false
        }
        if atFirstItem {
            atFirstItem = false
        } else {
            guard byte == UInt8(ascii: ",") else {
                throw JSONSyntaxError(offset: position, reason: .unexpectedByte(byte, expected: expected))
            }
            position += 1
            skipWhitespace()
        }
        return true
    }

    // MARK: Values

    private mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONValueSpan {
        skipWhitespace()
        guard position < end else { throw endOfInput() }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try scanObject(depth: depth)
        case UInt8(ascii: "["): return try scanArray(depth: depth)
        case UInt8(ascii: "\""): return try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try scanNumber()
        case UInt8(ascii: "t"): return try scanLiteral("true", kind: .bool)
        case UInt8(ascii: "f"): return try scanLiteral("false", kind: .bool)
        case UInt8(ascii: "n"): return try scanLiteral("null", kind: .null)
        case let byte:
            throw JSONSyntaxError(offset: position, reason: .unexpectedByte(byte, expected: "a JSON value"))
        }
    }

    private mutating func scanObject(depth: Int) throws(JSONSyntaxError) -> JSONValueSpan {
        guard depth <= Self.maximumDepth else {
            throw JSONSyntaxError(offset: position, reason: .nestingTooDeep(limit: Self.maximumDepth))
        }
        let start = position
        position += 1
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return JSONValueSpan(kind: .object, range: start..<position)
        }
        while true {
            skipWhitespace()
            guard position < end else { throw endOfInput() }
            guard bytes[position] == UInt8(ascii: "\"") else {
                throw JSONSyntaxError(offset: position, reason: .unexpectedByte(bytes[position], expected: "a member name string"))
            }
            _ = try scanString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), expected: "':' after a member name")
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard position < end else { throw endOfInput() }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "}") { return JSONValueSpan(kind: .object, range: start..<position) }
            guard byte == UInt8(ascii: ",") else {
                throw JSONSyntaxError(offset: position - 1, reason: .unexpectedByte(byte, expected: "',' or '}'"))
            }
        }
    }

    private mutating func scanArray(depth: Int) throws(JSONSyntaxError) -> JSONValueSpan {
        guard depth <= Self.maximumDepth else {
            throw JSONSyntaxError(offset: position, reason: .nestingTooDeep(limit: Self.maximumDepth))
        }
        let start = position
        position += 1
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return JSONValueSpan(kind: .array, range: start..<position)
        }
        while true {
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard position < end else { throw endOfInput() }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "]") { return JSONValueSpan(kind: .array, range: start..<position) }
            guard byte == UInt8(ascii: ",") else {
                throw JSONSyntaxError(offset: position - 1, reason: .unexpectedByte(byte, expected: "',' or ']'"))
            }
        }
    }

    private mutating func scanString() throws(JSONSyntaxError) -> JSONValueSpan {
        let start = position
        position += 1
        var hasEscapes = false
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return JSONValueSpan(kind: .string, range: start..<position, hasEscapes: hasEscapes)
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw JSONSyntaxError(offset: position, reason: .controlCharacterInString)
            } else if byte < 0x80 {
                position += 1
            } else {
                let length = UTF8Sequence.measure(bytes, at: position, end: end)
                guard length > 0 else { throw JSONSyntaxError(offset: position, reason: .invalidUTF8) }
                position += length
            }
        }
        throw endOfInput()
    }

    /// Validates one escape starting at the backslash, including a `\uD8xx\uDCxx` pair.
    private mutating func scanEscape() throws(JSONSyntaxError) {
        let escapeStart = position
        position += 1
        guard position < end else { throw endOfInput() }
        switch bytes[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            position += 1
            let unit = try scanHexQuad()
            if (0xDC00...0xDFFF).contains(unit) {
                throw JSONSyntaxError(offset: escapeStart, reason: .unpairedSurrogate)
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard position + 1 < end,
                      bytes[position] == UInt8(ascii: "\\"),
                      bytes[position + 1] == UInt8(ascii: "u")
                else { throw JSONSyntaxError(offset: escapeStart, reason: .unpairedSurrogate) }
                position += 2
                let low = try scanHexQuad()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONSyntaxError(offset: escapeStart, reason: .unpairedSurrogate)
                }
            }
        default:
            throw JSONSyntaxError(offset: escapeStart, reason: .invalidEscape)
        }
    }

    private mutating func scanHexQuad() throws(JSONSyntaxError) -> UInt16 {
        guard position + 4 <= end else { throw endOfInput() }
        var value: UInt16 = 0
        for offset in 0..<4 {
            guard let digit = JSONEscapes.hexValue(bytes[position + offset]) else {
                throw JSONSyntaxError(offset: position + offset, reason: .invalidEscape)
            }
            value = value << 4 | UInt16(digit)
        }
        position += 4
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func scanNumber() throws(JSONSyntaxError) -> JSONValueSpan {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < end, isDigit(bytes[position]) else { throw numberError() }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            skipDigits()
        }
        if position < end && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < end, isDigit(bytes[position]) else { throw numberError() }
            skipDigits()
        }
        if position < end && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < end && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < end, isDigit(bytes[position]) else { throw numberError() }
            skipDigits()
        }
        return JSONValueSpan(kind: .number, range: start..<position)
    }

    private mutating func scanLiteral(_ literal: StaticString, kind: JSONValueKind) throws(JSONSyntaxError) -> JSONValueSpan {
        let start = position
        let length = literal.utf8CodeUnitCount
        guard position + length <= end else {
            if isPrefixOfLiteral(literal) { throw endOfInput() }
            throw JSONSyntaxError(offset: start, reason: .invalidLiteral)
        }
        let expected = literal.utf8Start
        for offset in 0..<length where bytes[position + offset] != expected[offset] {
            throw JSONSyntaxError(offset: start, reason: .invalidLiteral)
        }
        position += length
        return JSONValueSpan(kind: kind, range: start..<position)
    }

    /// True when the input ends partway through a correct spelling of `literal`.
    private func isPrefixOfLiteral(_ literal: StaticString) -> Bool {
        let expected = literal.utf8Start
        for offset in 0..<(end - position) where bytes[position + offset] != expected[offset] {
            return false
        }
        return true
    }

    // MARK: Bytes

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func skipDigits() {
        while position < end && isDigit(bytes[position]) { position += 1 }
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func expect(_ byte: UInt8, expected: String) throws(JSONSyntaxError) {
        guard position < end else { throw endOfInput() }
        guard bytes[position] == byte else {
            throw JSONSyntaxError(offset: position, reason: .unexpectedByte(bytes[position], expected: expected))
        }
        position += 1
    }

    private func endOfInput() -> JSONSyntaxError {
        JSONSyntaxError(offset: end, reason: .unexpectedEndOfInput)
    }

    private func numberError() -> JSONSyntaxError {
        position < end ? JSONSyntaxError(offset: position, reason: .invalidNumber) : endOfInput()
    }
}

/// The kind of a JSON value found by `JSONScanner`.
public enum JSONValueKind: Equatable, Sendable {
    case object
    case array
    case string
    case number
    case bool
    case null
}

/// Where one JSON value lies in the scanned buffer: its exact bytes, never a copy.
public struct JSONValueSpan: Equatable, Sendable {
    public let kind: JSONValueKind
    /// The value's bytes, from its first byte (`{`, `[`, `"`, digit, ...) to its last.
    public let range: Range<Int>
    /// For strings: whether the content holds backslash escapes (decoding then rewrites bytes).
    public let hasEscapes: Bool

    public init(kind: JSONValueKind, range: Range<Int>, hasEscapes: Bool = false) {
        self.kind = kind
        self.range = range
        self.hasEscapes = hasEscapes
    }

    /// For strings: the bytes between the quotes, escapes not yet decoded.
    public var stringContentRange: Range<Int> {
        (range.lowerBound + 1)..<(range.upperBound - 1)
    }
}

/// One `"name": value` pair of an object.
public struct JSONMember: Equatable, Sendable {
    public let name: JSONValueSpan
    public let value: JSONValueSpan
}

extension JSONValueSpan {
    /// The decoded text of a string span (escapes resolved), or nil for other kinds.
    public func string(in bytes: RawSpan) -> String? {
        bytes.withUnsafeBytes { string(in: $0) }
    }

    /// Whether this is a string span denoting exactly `text`; no allocation unless escaped.
    public func isString(_ text: String, in bytes: RawSpan) -> Bool {
        bytes.withUnsafeBytes { isString(text, in: $0) }
    }

    func string(in bytes: UnsafeRawBufferPointer) -> String? {
        kind == .string ? JSONEscapes.decodeString(bytes, self) : nil
    }

    func isString(_ text: String, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard kind == .string else { return false }
        if hasEscapes { return JSONEscapes.decodeString(bytes, self) == text }
        var text = text
        return text.withUTF8 { expected in
            let content = UnsafeRawBufferPointer(rebasing: bytes[stringContentRange])
            return content.elementsEqual(UnsafeRawBufferPointer(expected))
        }
    }
}

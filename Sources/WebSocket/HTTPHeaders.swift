/// Header fields of an HTTP/1.x head in arrival order, with case-insensitive lookup
/// and the comma-separated token matching the upgrade handshake needs.
public struct HTTPHeaders: Hashable, Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public mutating func append(name: String, value: String) {
        fields.append((name, value))
    }

    /// The first value of the field, matching the name without regard to case.
    public func first(_ name: String) -> String? {
        fields.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of the field, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { ASCII.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// The comma-separated elements of every occurrence of the field, trimmed.
    public func tokens(_ name: String) -> [Substring] {
        values(name).flatMap { value in
            value.split(separator: ",").map { ASCII.trimmingWhitespace($0) }.filter { !$0.isEmpty }
        }
    }

    /// Whether any comma-separated element of the field equals `token` ignoring case.
    public func contains(_ name: String, token: String) -> Bool {
        tokens(name).contains { ASCII.equalsIgnoringCase($0, token) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }
}

/// ASCII helpers for protocol text, which is case-insensitive only in ASCII.
enum ASCII {
    static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    static func equalsIgnoringCase<A: StringProtocol, B: StringProtocol>(_ lhs: A, _ rhs: B) -> Bool {
        lhs.utf8.elementsEqual(rhs.utf8) { lowercased($0) == lowercased($1) }
    }

    static func trimmingWhitespace(_ text: Substring) -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isWhitespace($0) }) else { return text[text.endIndex...] }
        let end = text.lastIndex(where: { !isWhitespace($0) })!
        return text[start...end]
    }
}

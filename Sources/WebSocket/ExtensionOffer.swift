/// The Sec-WebSocket-Extensions header of an opening handshake (RFC 6455 section 9.1): the
/// extensions a client offers, in its order of preference, with their parameters.

/// One offered extension: its name and parameters in order, quoted values unquoted.
public struct ExtensionOffer: Hashable, Sendable {
    public struct Parameter: Hashable, Sendable {
        public var name: String
        public var value: String?

        public init(_ name: String, _ value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var parameters: [Parameter]

    public init(_ name: String, _ parameters: [Parameter] = []) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses every value of the header as one list (several header lines are one list joined
    /// by commas). Nil when a value breaks the grammar: the handshake is then refused (400).
    public static func parse(_ values: [String]) -> [ExtensionOffer]? {
        var offers: [ExtensionOffer] = []
        for value in values {
            var scanner = Scanner(Array(value.utf8))
            guard scanner.list(into: &offers) else { return nil }
        }
        return offers
    }

    /// extension-list = 1#( extension-token *( ";" extension-param ) ), with optional whitespace
    /// around separators and empty list elements ignored (RFC 7230 section 7).
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func list(into offers: inout [ExtensionOffer]) -> Bool {
            while true {
                skipWhitespace()
                if atEnd { return true }
                if take(UInt8(ascii: ",")) { continue }
                guard let offer = element() else { return false }
                offers.append(offer)
                skipWhitespace()
                if atEnd { return true }
                guard take(UInt8(ascii: ",")) else { return false }
            }
        }

        private mutating func element() -> ExtensionOffer? {
            guard let name = token() else { return nil }
            var offer = ExtensionOffer(name)
            while true {
                skipWhitespace()
                guard take(UInt8(ascii: ";")) else { return offer }
                skipWhitespace()
                guard let parameter = token() else { return nil }
                skipWhitespace()
                var value: String?
                if take(UInt8(ascii: "=")) {
                    skipWhitespace()
                    guard let parsed = peek == UInt8(ascii: "\"") ? quotedToken() : token() else { return nil }
                    value = parsed
                }
                offer.parameters.append(Parameter(parameter, value))
            }
        }

        private mutating func token() -> String? {
            let start = position
            while let byte = peek, Self.isTokenByte(byte) { position += 1 }
            guard position > start else { return nil }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        /// RFC 6455 9.1: a quoted value must still be a token once unquoted.
        private mutating func quotedToken() -> String? {
            position += 1
            var value: [UInt8] = []
            while let byte = peek {
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek, Self.isTokenByte(escaped) else { return nil }
                    value.append(escaped)
                    position += 1
                default:
                    guard Self.isTokenByte(byte) else { return nil }
                    value.append(byte)
                }
            }
            return nil
        }

        private var atEnd: Bool { position == bytes.count }
        private var peek: UInt8? { atEnd ? nil : bytes[position] }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            position += 1
            return true
        }

        private mutating func skipWhitespace() {
            while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { position += 1 }
        }

        /// tchar of RFC 7230 section 3.2.6.
        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }
}

/// Why a byte sequence is not one valid JSON text (RFC 8259), and where.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case unexpectedEndOfInput
        case unexpectedByte(UInt8, expected: String)
        case invalidLiteral
        case invalidNumber
        case invalidEscape
        case unpairedSurrogate
        case controlCharacterInString
        case invalidUTF8
        case nestingTooDeep(limit: Int)
        case trailingData
    }

    /// Byte offset from the start of the scanned buffer.
    public let offset: Int
    public let reason: Reason

    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        "\(reasonText) at byte \(offset)"
    }

    private var reasonText: String {
        switch reason {
        case .unexpectedEndOfInput:
            return "unexpected end of input"
        case .unexpectedByte(let byte, let expected):
            return "unexpected \(Self.describe(byte)), expected \(expected)"
        case .invalidLiteral:
            return "invalid literal (expected true, false or null)"
        case .invalidNumber:
            return "invalid number"
        case .invalidEscape:
            return "invalid escape sequence in string"
        case .unpairedSurrogate:
            return "unpaired UTF-16 surrogate in \\u escape"
        case .controlCharacterInString:
            return "unescaped control character in string"
        case .invalidUTF8:
            return "invalid UTF-8 in string"
        case .nestingTooDeep(let limit):
            return "nesting deeper than \(limit) levels"
        case .trailingData:
            return "unexpected data after the JSON value"
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}

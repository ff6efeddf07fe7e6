/// Subject syntax: `/topic` or `/topic/key...`.
///
/// - 2 to 256 bytes, starting with `/`; 1 to 8 segments separated by single `/`, none empty
///   (so no trailing `/`).
/// - The first segment is the Kafka topic: ASCII letters, digits, `.`, `_`, `-`, at most
///   249 bytes, not `.` or `..` (Kafka's own topic rules).
/// - Later segments (the key) may also use `~`, `:` and `@`.
public enum SubjectSyntax {
    public static let maximumLength = 256
    public static let maximumSegments = 8
    public static let maximumTopicLength = 249

    /// Why `subject` is invalid, or nil when it is valid.
    public static func violation(in subject: String) -> SubjectSyntaxError? {
        var subject = subject
        return subject.withUTF8 { violation(buffer: UnsafeRawBufferPointer($0)) }
    }

    public static func isValid(_ subject: String) -> Bool {
        violation(in: subject) == nil
    }

    /// Why the UTF-8 bytes `subject` are not a valid subject, or nil when they are.
    public static func violation(in subject: RawSpan) -> SubjectSyntaxError? {
        subject.withUnsafeBytes { violation(buffer: $0) }
    }

    static func violation(buffer subject: UnsafeRawBufferPointer) -> SubjectSyntaxError? {
        guard !subject.isEmpty else { return .empty }
        guard subject.count <= maximumLength else { return .tooLong(length: subject.count) }
        guard subject[0] == UInt8(ascii: "/") else { return .missingLeadingSlash }
        var segments = 1
        var segmentStart = 1
        for index in 1...subject.count {
            let atSeparator = index == subject.count || subject[index] == UInt8(ascii: "/")
            if !atSeparator {
                let byte = subject[index]
                let allowed = segments == 1 ? isTopicByte(byte) : isKeyByte(byte)
                if !allowed { return .invalidCharacter(byte: byte, offset: index, inTopic: segments == 1) }
                continue
            }
            let length = index - segmentStart
            guard length > 0 else { return .emptySegment(offset: index) }
            if segments == 1 {
                guard length <= maximumTopicLength else { return .topicTooLong(length: length) }
                let dots = subject[segmentStart] == UInt8(ascii: ".") && (length == 1 || (length == 2 && subject[segmentStart + 1] == UInt8(ascii: ".")))
                if dots { return .reservedTopicName }
            }
            if index < subject.count {
                segments += 1
                guard segments <= maximumSegments else { return .tooManySegments }
                segmentStart = index + 1
            }
        }
        return nil
    }

    @inline(__always)
    public static func isTopicByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    @inline(__always)
    public static func isKeyByte(_ byte: UInt8) -> Bool {
        isTopicByte(byte) || byte == UInt8(ascii: "~") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "@")
    }
}

/// How a subject breaks `SubjectSyntax`.
public enum SubjectSyntaxError: Error, Equatable, Sendable {
    case empty
    case tooLong(length: Int)
    case missingLeadingSlash
    case emptySegment(offset: Int)
    case tooManySegments
    case invalidCharacter(byte: UInt8, offset: Int, inTopic: Bool)
    case topicTooLong(length: Int)
    case reservedTopicName

    public var message: String {
        switch self {
        case .empty:
            return "a subject must not be empty"
        case .tooLong(let length):
            return "a subject may have at most \(SubjectSyntax.maximumLength) bytes, this one has \(length)"
        case .missingLeadingSlash:
            return "a subject must start with '/'"
        case .emptySegment(let offset):
            return "empty segment at byte \(offset) (no '//' and no trailing '/')"
        case .tooManySegments:
            return "a subject may have at most \(SubjectSyntax.maximumSegments) segments"
        case .invalidCharacter(let byte, let offset, let inTopic):
            let allowed = inTopic ? "letters, digits, '.', '_' and '-'" : "letters, digits and '.', '_', '-', '~', ':', '@'"
            let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
            return "\(shown) at byte \(offset) is not allowed; the \(inTopic ? "topic segment" : "key") may use \(allowed)"
        case .topicTooLong(let length):
            return "the topic segment may have at most \(SubjectSyntax.maximumTopicLength) bytes, this one has \(length)"
        case .reservedTopicName:
            return "the topic segment must not be '.' or '..'"
        }
    }
}

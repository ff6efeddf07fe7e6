// One entitlement pattern, compiled for one user: `{user}` is already replaced, `*` matches
// within a segment, a final `/**` matches one or more further segments.
import StadiumProtocol

public struct SubjectPattern: Equatable, Sendable, CustomStringConvertible {
    /// The pattern bytes with `{user}` replaced and a trailing `**` removed (the `/` stays).
    private let bytes: [UInt8]
    /// The pattern ended in `/**`.
    private let matchesDeeper: Bool
    public let description: String

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case notAbsolute(String)
        case forbiddenByte(String, UInt8)
        case misplacedDoubleStar(String)

        public var description: String {
            switch self {
            case .notAbsolute(let pattern): return "pattern \"\(pattern)\" must start with /"
            case .forbiddenByte(let pattern, let byte): return "pattern \"\(pattern)\" holds byte \(byte), not allowed in a subject"
            case .misplacedDoubleStar(let pattern): return "pattern \"\(pattern)\": ** is only allowed as the whole last segment"
            }
        }
    }

    /// Compiles `pattern` for `user` (a valid subject key segment, checked by the caller).
    public init(_ pattern: String, user: String) throws(Invalid) {
        let expanded = pattern.replacing("{user}", with: user)
        var bytes = Array(expanded.utf8)
        guard bytes.first == UInt8(ascii: "/") else { throw .notAbsolute(pattern) }
        var deeper = false
        if bytes.count >= 3, bytes.suffix(3).elementsEqual("/**".utf8) {
            deeper = true
            bytes.removeLast(2)
        }
        for (index, byte) in bytes.enumerated() {
            let isStar = byte == UInt8(ascii: "*")
            guard isStar || byte == UInt8(ascii: "/") || SubjectSyntax.isKeyByte(byte) else {
                throw .forbiddenByte(pattern, byte)
            }
            if isStar, index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") { throw .misplacedDoubleStar(pattern) }
        }
        self.bytes = bytes
        self.matchesDeeper = deeper
        self.description = expanded
    }

    public func matches(_ subject: String) -> Bool {
        var subject = subject
        return subject.withUTF8 { matches(buffer: UnsafeRawBufferPointer($0)) }
    }

    /// Glob matching with one backtrack point; a `*` never consumes a `/`, so backtracking to an
    /// earlier segment's star can never help and one point is enough.
    public func matches(_ subject: RawSpan) -> Bool {
        subject.withUnsafeBytes { matches(buffer: $0) }
    }

    private func matches(buffer subject: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBufferPointer { pattern in
            let slash = UInt8(ascii: "/")
            let star = UInt8(ascii: "*")
            var p = 0
            var s = 0
            var starPattern = -1
            var starSubject = 0
            while true {
                if p == pattern.count {
                    if matchesDeeper ? s < subject.count : s == subject.count { return true }
                } else if pattern[p] == star {
                    starPattern = p
                    starSubject = s
                    p += 1
                    continue
                } else if s < subject.count, pattern[p] == subject[s] {
                    p += 1
                    s += 1
                    continue
                }
                guard starPattern >= 0, starSubject < subject.count, subject[starSubject] != slash else { return false }
                starSubject += 1
                s = starSubject
                p = starPattern + 1
            }
        }
    }
}

/// The parts of HTTP/1.x head parsing shared by requests and responses: finding
/// the blank line within the size limit, splitting lines, reading header fields and
/// the version. Strict: CRLF line ends, no obsolete line folding, no control bytes.

/// HTTP version from a request or status line.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// The outcome of parsing an HTTP head from the bytes received so far.
public enum HTTPHeadParseResult<Head: Sendable>: Sendable {
    /// No blank line yet and still under the limit: wait for more bytes.
    case incomplete
    /// The head and the number of bytes it took, blank line included.
    case complete(Head, consumed: Int)
    /// The head is longer than the limit (a server answers 431).
    case tooLarge
    /// Not valid HTTP/1.x (a server answers 400).
    case malformed(String)
}

enum HTTPHeadParsing {
    struct Failure: Error {
        var reason: String
    }

    enum Search {
        case found(end: Int)
        case incomplete
        case tooLarge
    }

    /// Finds the end of the head (just past CRLF CRLF) within the first `limit` bytes.
    /// Finds the head at the start of `bytes` and hands it to `parseHead`; shared by the
    /// request and response parsers, which differ only in their first line.
    static func parse<Head>(
        _ bytes: UnsafeRawBufferPointer, limit: Int,
        _ parseHead: (UnsafeRawBufferPointer) throws(Failure) -> Head
    ) -> HTTPHeadParseResult<Head> {
        switch findHeadEnd(bytes, limit: limit) {
        case .incomplete: return .incomplete
        case .tooLarge: return .tooLarge
        case .found(let end):
            do {
                let head = try parseHead(UnsafeRawBufferPointer(rebasing: bytes[..<end]))
                return .complete(head, consumed: end)
            } catch {
                return .malformed(error.reason)
            }
        }
    }

    static func findHeadEnd(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Search {
        let window = min(bytes.count, limit)
        var index = 3
        while index < window {
            if bytes[index] == 0x0A, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                return .found(end: index + 1)
            }
            index += 1
        }
        return bytes.count >= limit ? .tooLarge : .incomplete
    }

    /// Splits the head (ending in CRLF CRLF) into its lines, dropping the final blank one.
    static func lines(_ head: UnsafeRawBufferPointer) throws(Failure) -> [UnsafeRawBufferPointer] {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        var index = 0
        while index < head.count {
            let byte = head[index]
            if byte == 0x0D {
                guard index + 1 < head.count, head[index + 1] == 0x0A else {
                    throw Failure(reason: "bare CR in the head")
                }
                lines.append(UnsafeRawBufferPointer(rebasing: head[start..<index]))
                index += 2
                start = index
                continue
            }
            if byte == 0x0A {
                throw Failure(reason: "bare LF in the head")
            }
            index += 1
        }
        guard lines.last?.isEmpty == true else { throw Failure(reason: "head does not end with a blank line") }
        lines.removeLast()
        guard !lines.isEmpty, !lines[0].isEmpty else { throw Failure(reason: "empty start line") }
        return lines
    }

    static func headers(_ lines: ArraySlice<UnsafeRawBufferPointer>) throws(Failure) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw Failure(reason: "header line without a colon")
            }
            let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                throw Failure(reason: "invalid header name")
            }
            var valueStart = colon + 1
            var valueEnd = line.count
            while valueStart < valueEnd, isWhitespace(line[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
            guard value.allSatisfy(isFieldValueByte) else {
                throw Failure(reason: "control character in header \(String(decoding: name, as: UTF8.self))")
            }
            headers.append(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        return headers
    }

    /// Parses exactly "HTTP/d.d".
    static func version(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> HTTPVersion {
        let prefix: [UInt8] = Array("HTTP/".utf8)
        guard bytes.count == 8, bytes.prefix(5).elementsEqual(prefix), bytes[6] == UInt8(ascii: "."),
            isDigit(bytes[5]), isDigit(bytes[7])
        else {
            throw Failure(reason: "invalid HTTP version")
        }
        return HTTPVersion(major: Int(bytes[5] - 0x30), minor: Int(bytes[7] - 0x30))
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// Visible ASCII, space, tab and obs-text.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (0x20...0x7E).contains(byte) || byte >= 0x80
    }
}

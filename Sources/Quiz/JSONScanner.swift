/// A JSON value at the top level of an object, as seen by `FlatJSONObjectScanner`.
enum JSONScalar: Equatable {
    /// Byte range of the string's content inside the scanned buffer, without the quotes.
    case string(Range<Int>, hasEscapes: Bool)
    case integer(Int64)
    /// Any other valid value (fraction, literal, nested object or array): skipped, not decoded.
    case other
}

struct JSONField {
    var key: Range<Int>
    var value: JSONScalar
}

enum JSONScanError: Error, Equatable {
    case notAnObject
    case malformed(offset: Int)
}

/// Walks the fields of one JSON object in place, without allocating: the hot path of answers,
/// get-top requests and result replays. Nested values are validated loosely and skipped.
struct FlatJSONObjectScanner {
    let bytes: [UInt8]
    private var index: Int
    private var fieldsSeen = 0
    private var finished = false

    init(_ bytes: [UInt8]) throws(JSONScanError) {
        self.bytes = bytes
        index = 0
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw .notAnObject }
        index += 1
    }

    /// The next field, or nil once the closing brace (and only whitespace after it) was read.
    mutating func nextField() throws(JSONScanError) -> JSONField? {
        if finished { return nil }
        skipWhitespace()
        guard index < bytes.count else { throw .malformed(offset: index) }
        if bytes[index] == UInt8(ascii: "}") {
            index += 1
            skipWhitespace()
            guard index == bytes.count else { throw .malformed(offset: index) }
            finished = true
            return nil
        }
        if fieldsSeen > 0 {
            guard bytes[index] == UInt8(ascii: ",") else { throw .malformed(offset: index) }
            index += 1
            skipWhitespace()
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed(offset: index) }
        let (key, _) = try scanString()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw .malformed(offset: index) }
        index += 1
        skipWhitespace()
        let value = try scanValue()
        fieldsSeen += 1
        return JSONField(key: key, value: value)
    }

    func equals(_ range: Range<Int>, _ literal: [UInt8]) -> Bool {
        guard range.count == literal.count else { return false }
        var position = range.lowerBound
        for byte in literal {
            if bytes[position] != byte { return false }
            position += 1
        }
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Expects `index` on the opening quote; leaves it after the closing quote.
    private mutating func scanString() throws(JSONScanError) -> (Range<Int>, Bool) {
        index += 1
        let start = index
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = start..<index
                index += 1
                return (range, hasEscapes)
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                index += 2
                continue
            }
            if byte < 0x20 { throw .malformed(offset: index) }
            index += 1
        }
        throw .malformed(offset: index)
    }

    private mutating func scanValue() throws(JSONScanError) -> JSONScalar {
        guard index < bytes.count else { throw .malformed(offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            let (range, hasEscapes) = try scanString()
            return .string(range, hasEscapes: hasEscapes)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipNested()
            return .other
        case UInt8(ascii: "t"): try expectLiteral("true"); return .other
        case UInt8(ascii: "f"): try expectLiteral("false"); return .other
        case UInt8(ascii: "n"): try expectLiteral("null"); return .other
        default: throw .malformed(offset: index)
        }
    }

    private mutating func scanNumber() throws(JSONScanError) -> JSONScalar {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var magnitude: Int64 = 0
        var digits = 0
        var overflowed = false
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            overflowed = overflowed || o1 || o2
            magnitude = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw .malformed(offset: start) }
        var isInteger = !overflowed
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                isInteger = false
                index += 1
            default:
                return isInteger ? .integer(negative ? -magnitude : magnitude) : .other
            }
        }
        return isInteger ? .integer(negative ? -magnitude : magnitude) : .other
    }

    private mutating func skipNested() throws(JSONScanError) {
        var depth = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                _ = try scanString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    index += 1
                    return
                }
            default:
                break
            }
            index += 1
        }
        throw .malformed(offset: index)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONScanError) {
        let expected = literal.description.utf8
        guard index + expected.count <= bytes.count,
              bytes[index..<index + expected.count].elementsEqual(expected)
        else { throw .malformed(offset: index) }
        index += expected.count
    }
}

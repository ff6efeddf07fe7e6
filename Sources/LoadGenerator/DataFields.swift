// Reads the few members a load generator needs from a msg's `data` object, without Foundation.
import StadiumProtocol

/// The top-level members of one JSON object, as spans into the parsed bytes.
struct DataFields {
    private var members: [(name: String, value: JSONValueSpan)] = []
    private let bytes: UnsafeRawBufferPointer

    /// Nil when `range` of `bytes` is not a JSON object.
    init?(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        var scanner = JSONScanner(bytes, range: range)
        do throws(JSONSyntaxError) {
            guard try scanner.beginObject() else { return nil }
            while let member = try scanner.nextMember() {
                guard let name = member.name.string(in: bytes) else { return nil }
                members.append((name, member.value))
            }
        } catch {
            return nil
        }
    }

    func span(_ name: String) -> JSONValueSpan? {
        members.last { $0.name == name }?.value
    }

    /// The exact bytes of a member's value (a string keeps its quotes).
    func rawValue(_ name: String) -> [UInt8]? {
        span(name).map { Array(bytes[$0.range]) }
    }

    func string(_ name: String) -> String? {
        span(name)?.string(in: bytes)
    }

    func bool(_ name: String) -> Bool? {
        guard let span = span(name), span.kind == .bool else { return nil }
        return bytes[span.range.lowerBound] == UInt8(ascii: "t")
    }

    /// A whole number written without fraction or exponent that fits in Int64.
    func integer(_ name: String) -> Int64? {
        guard let span = span(name), span.kind == .number else { return nil }
        return Self.integer(UnsafeRawBufferPointer(rebasing: bytes[span.range]))
    }

    func arrayCount(_ name: String) -> Int? {
        guard let span = span(name), span.kind == .array else { return nil }
        var scanner = JSONScanner(bytes, range: span.range)
        var count = 0
        do throws(JSONSyntaxError) {
            guard try scanner.beginArray() else { return nil }
            while try scanner.nextElement() != nil { count += 1 }
        } catch {
            return nil
        }
        return count
    }

    static func integer(_ digits: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let negative = digits.first == UInt8(ascii: "-")
        if negative { index = 1 }
        guard index < digits.count else { return nil }
        var value: Int64 = 0
        while index < digits.count {
            let byte = digits[index]
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowA && !overflowB else { return nil }
            value = sum
            index += 1
        }
        return negative ? -value : value
    }
}

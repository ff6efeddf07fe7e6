/// What record codecs outside this module need from the scanner and writer: members of one
/// object, typed values, and JSON appended to a byte array.
extension JSONScanner {
    /// Calls `body` with each member of the one JSON object that `range` of `bytes` holds
    /// (whitespace around it allowed); false when those bytes are not exactly one valid object.
    /// Never allocates.
    public static func forEachMember(
        of bytes: RawSpan, range: Range<Int>, _ body: (JSONMember) -> Void
    ) -> Bool {
        var scanner = JSONScanner(bytes, range: range)
        do throws(JSONSyntaxError) {
            guard try scanner.beginObject() else { return false }
            while let member = try scanner.nextMember() { body(member) }
            try scanner.expectEndOfInput()
        } catch {
            return false
        }
        return true
    }
}

extension JSONValueSpan {
    /// A number written without fraction or exponent that fits in `Int64`; nil otherwise.
    public func int64(in bytes: RawSpan) -> Int64? {
        bytes.withUnsafeBytes { JSONInteger.int64($0, self) }
    }

    public func bool(in bytes: RawSpan) -> Bool? {
        kind == .bool ? bytes.withUnsafeBytes { $0[range.lowerBound] } == UInt8(ascii: "t") : nil
    }

    /// Calls `body` with each element of an array span; false for other kinds.
    public func forEachElement(in bytes: RawSpan, _ body: (JSONValueSpan) -> Void) -> Bool {
        guard kind == .array else { return false }
        var scanner = JSONScanner(bytes, range: range)
        do throws(JSONSyntaxError) {
            guard try scanner.beginArray() else { return false }
            while let element = try scanner.nextElement() { body(element) }
        } catch {
            return false
        }
        return true
    }
}

extension Array where Element == UInt8 {
    /// Appends what `write` writes: once to count, once into the grown array, so the array
    /// grows once and the bytes come from the same `JSONWriter` the protocol encoders use.
    public mutating func appendJSON(_ write: (inout JSONWriter) -> Void) {
        var counter = JSONWriter()
        write(&counter)
        let start = count
        append(contentsOf: repeatElement(0, count: counter.count))
        withUnsafeMutableBytes { buffer in
            var writer = JSONWriter(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]))
            write(&writer)
        }
    }
}

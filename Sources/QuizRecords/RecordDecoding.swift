// What every record's decoder shares: one scan of the object, then the required fields.
import StadiumProtocol

extension JSONValueSpan {
    /// Whether this member name is `name` (record field names are plain ASCII).
    func names(_ name: String, in bytes: RawSpan) -> Bool {
        isString(name, in: bytes)
    }
}

/// Reads one record's object; `member` sees each member, `build` then checks what it kept.
func decodeRecord<Record>(
    _ bytes: RawSpan, range: Range<Int>, member: (JSONMember) -> Void,
    build: () throws(QuizRecordError) -> Record
) throws(QuizRecordError) -> Record {
    guard JSONScanner.forEachMember(of: bytes, range: range, member) else { throw .notJSON }
    return try build()
}

/// Unwraps a field the record requires.
func required<Value>(_ value: Value?, _ field: String) throws(QuizRecordError) -> Value {
    guard let value else { throw .missingField(field) }
    return value
}

extension Array where Element == UInt8 {
    /// Decodes a whole value with `decode` (records arrive as Kafka values or in a msg's data).
    func decodeRecord<Record>(
        _ decode: (RawSpan, Range<Int>) throws(QuizRecordError) -> Record
    ) throws(QuizRecordError) -> Record {
        let bytes = span.bytes
        return try decode(bytes, 0..<bytes.byteCount)
    }
}

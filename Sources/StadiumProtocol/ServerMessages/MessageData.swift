/// A Kafka record value classified once for the `data` member of a `msg`: the value's
/// bytes verbatim when they are one JSON value, otherwise a JSON string of them.
///
/// Borrows the record's bytes: it cannot outlive the span it was made from.
public struct MessageData: ~Escapable {
    private enum Form {
        /// Kafka null value (tombstone): written as `null`.
        case null
        /// The JSON value, surrounding whitespace dropped.
        case json(Range<Int>)
        /// Not JSON: escaped into a string, invalid UTF-8 replaced by U+FFFD.
        case text
    }

    /// The bytes of the span this value's lifetime depends on (raw for the writer).
    private let bytes: UnsafeRawBufferPointer
    private let form: Form

    /// Classifies a record value; nil is Kafka's null value, an empty value is not JSON.
    @_lifetime(copy recordValue)
    public init(recordValue: RawSpan?) {
        guard let recordValue else {
            self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            self.form = .null
            return
        }
        self.bytes = recordValue.withUnsafeBytes { $0 }
        do throws(JSONSyntaxError) {
            self.form = .json(try JSONScanner.validateDocument(recordValue).range)
        } catch {
            self.form = .text
        }
    }

    /// Whether the value is forwarded byte for byte (it is JSON).
    public var isVerbatimJSON: Bool {
        if case .json = form { return true }
        return false
    }

    func write(to writer: inout JSONWriter) {
        switch form {
        case .null: writer.append("null")
        case .json(let range): writer.append(UnsafeRawBufferPointer(rebasing: bytes[range]))
        case .text: writer.appendString(bytes)
        }
    }
}

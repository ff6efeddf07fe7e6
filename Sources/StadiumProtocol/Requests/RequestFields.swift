/// Reads and checks the typed members of a request, turning each problem into a `ProtocolError`.
struct RequestFields {
    let bytes: UnsafeRawBufferPointer
    let id: Int64?

    func badRequest(_ message: String) -> ProtocolError {
        .badRequest(id: id, message: message)
    }

    /// A string member that must be a valid subject.
    func subject(_ span: JSONValueSpan?, member: String) throws(ProtocolError) -> String {
        guard let span else { throw badRequest("missing member \"\(member)\" (a subject string such as \"/answer/alice\")") }
        guard span.kind == .string else { throw badRequest("\"\(member)\" must be a string") }
        return try validSubject(span)
    }

    /// `subjects`: an array of 1 to `maximumSubjectsPerRequest` valid subject strings.
    func subjectList(_ span: JSONValueSpan?) throws(ProtocolError) -> [String] {
        let limit = ClientRequestParser.maximumSubjectsPerRequest
        guard let span else { throw badRequest("missing member \"subjects\" (an array of subject strings)") }
        guard span.kind == .array else { throw badRequest("\"subjects\" must be an array of subject strings") }
        let elements = items(of: span, limit: limit + 1)
        guard elements.count <= limit else { throw badRequest("too many subjects: at most \(limit) per request") }
        var subjects: [String] = []
        subjects.reserveCapacity(elements.count)
        for element in elements {
            guard element.kind == .string else {
                throw badRequest("\"subjects\"[\(subjects.count)] must be a string")
            }
            subjects.append(try validSubject(element))
        }
        guard !subjects.isEmpty else { throw badRequest("\"subjects\" must not be empty") }
        return subjects
    }

    /// `since`: an optional object mapping valid subjects to non-negative seq numbers, or (for a
    /// subject without a key) to a cursor: an object mapping partitions to the last offset seen.
    func since(_ span: JSONValueSpan?) throws(ProtocolError) -> (since: [String: Int64], cursors: [String: [Int32: Int64]]) {
        let limit = ClientRequestParser.maximumSubjectsPerRequest
        guard let span else { return ([:], [:]) }
        guard span.kind == .object else {
            throw badRequest("\"since\" must be an object mapping subjects to the last seq seen")
        }
        let entries = items(of: span, limit: 2 * (limit + 1))
        guard entries.count <= 2 * limit else {
            throw badRequest("too many subjects in \"since\": at most \(limit) per request")
        }
        var since: [String: Int64] = [:]
        var cursors: [String: [Int32: Int64]] = [:]
        for index in stride(from: 0, to: entries.count, by: 2) {
            let subject = try validSubject(entries[index])
            if entries[index + 1].kind == .object {
                cursors[subject] = try cursor(entries[index + 1], of: subject)
                since[subject] = nil  // a subject named twice: the last value counts, as for numbers
                continue
            }
            guard let seq = JSONInteger.int64(bytes, entries[index + 1]), seq >= 0 else {
                throw badRequest("\"since\" value for \"\(subject)\" must be an integer from 0 to \(Int64.max)")
            }
            since[subject] = seq
            cursors[subject] = nil
        }
        return (since, cursors)
    }

    /// A cursor: `{"0":41,"1":-1}`, partition numbers (decimal, 0 to Int32.max) to the last offset
    /// seen there (-1: none); only a subject without a key has one.
    private func cursor(_ span: JSONValueSpan, of subject: String) throws(ProtocolError) -> [Int32: Int64] {
        let limit = ClientRequestParser.maximumCursorPartitions
        guard SubjectMapping.topicAndKey(for: subject).key == nil else {
            throw badRequest("\"since\" value for \"\(subject)\" must be an integer: only a subject without a key has a cursor")
        }
        let entries = items(of: span, limit: 2 * (limit + 1))
        guard entries.count <= 2 * limit else {
            throw badRequest("cursor for \"\(subject)\" names too many partitions: at most \(limit)")
        }
        var cursor: [Int32: Int64] = [:]
        for index in stride(from: 0, to: entries.count, by: 2) {
            let name = JSONEscapes.decodeString(bytes, entries[index])
            guard let partition = Self.partitionNumber(name) else {
                throw badRequest("cursor for \"\(subject)\": partition \"\(name.prefix(32))\" must be a decimal number from 0 to \(Int32.max)")
            }
            guard cursor[partition] == nil else {
                throw badRequest("cursor for \"\(subject)\": partition \(partition) appears more than once")
            }
            guard let offset = JSONInteger.int64(bytes, entries[index + 1]), offset >= -1 else {
                throw badRequest("cursor for \"\(subject)\": offset of partition \(partition) must be an integer from -1 to \(Int64.max)")
            }
            cursor[partition] = offset
        }
        return cursor
    }

    /// A partition number written the way the gateway writes it: digits, no sign, no leading zero.
    static func partitionNumber(_ text: String) -> Int32? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              digits.count == 1 || digits.first != UInt8(ascii: "0")
        else { return nil }
        return Int32(text)
    }

    /// The elements of an already validated array, or the names and values (alternating)
    /// of an already validated object; at most `limit` spans.
    private func items(of span: JSONValueSpan, limit: Int) -> [JSONValueSpan] {
        var items: [JSONValueSpan] = []
        var scanner = JSONScanner(buffer: bytes, range: span.range)
        do throws(JSONSyntaxError) {
            if span.kind == .array {
                _ = try scanner.beginArray()
                while items.count < limit, let element = try scanner.nextElement() {
                    items.append(element)
                }
            } else {
                _ = try scanner.beginObject()
                while items.count < limit, let member = try scanner.nextMember() {
                    items.append(member.name)
                    items.append(member.value)
                }
            }
        } catch {
            preconditionFailure("rescanning an already validated container failed: \(error)")
        }
        return items
    }

    private func validSubject(_ span: JSONValueSpan) throws(ProtocolError) -> String {
        let subject = JSONEscapes.decodeString(bytes, span)
        if let violation = SubjectSyntax.violation(in: subject) {
            throw .badSubject(id: id, subject: subject, message: violation.message)
        }
        return subject
    }
}

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

    /// `since`: an optional object mapping valid subjects to non-negative seq numbers.
    func since(_ span: JSONValueSpan?) throws(ProtocolError) -> [String: Int64] {
        let limit = ClientRequestParser.maximumSubjectsPerRequest
        guard let span else { return [:] }
        guard span.kind == .object else {
            throw badRequest("\"since\" must be an object mapping subjects to the last seq seen")
        }
        let entries = items(of: span, limit: 2 * (limit + 1))
        guard entries.count <= 2 * limit else {
            throw badRequest("too many subjects in \"since\": at most \(limit) per request")
        }
        var since: [String: Int64] = [:]
        for index in stride(from: 0, to: entries.count, by: 2) {
            let subject = try validSubject(entries[index])
            guard let seq = JSONInteger.int64(bytes, entries[index + 1]), seq >= 0 else {
                throw badRequest("\"since\" value for \"\(subject)\" must be an integer from 0 to \(Int64.max)")
            }
            since[subject] = seq
        }
        return since
    }

    /// The elements of an already validated array, or the names and values (alternating)
    /// of an already validated object; at most `limit` spans.
    private func items(of span: JSONValueSpan, limit: Int) -> [JSONValueSpan] {
        var items: [JSONValueSpan] = []
        var scanner = JSONScanner(bytes, range: span.range)
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

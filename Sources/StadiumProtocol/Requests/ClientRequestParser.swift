/// Parses one client request (one WebSocket text frame) in a single validating scan.
/// Member order does not matter; unknown members are ignored; a known member twice is refused.
public enum ClientRequestParser {
    /// Most subjects one `sub` or `unsub` may name (and most entries in `since`).
    public static let maximumSubjectsPerRequest = 64
    /// Most partitions one cursor may name.
    public static let maximumCursorPartitions = 1024

    /// The request comes back as owned values and ranges of `bytes`: nothing borrowed outlives the call.
    public static func parse(_ bytes: RawSpan) -> Result<ClientRequest, ProtocolError> {
        bytes.withUnsafeBytes { parse(buffer: $0) }
    }

    private static func parse(buffer bytes: UnsafeRawBufferPointer) -> Result<ClientRequest, ProtocolError> {
        var members = RequestMembers()
        var id: Int64?
        var idProblem: String?
        var scanner = JSONScanner(buffer: bytes)
        do throws(JSONSyntaxError) {
            guard try scanner.beginObject() else {
                return .failure(.badRequest(id: nil, message: "a request must be a JSON object"))
            }
            while let member = try scanner.nextMember() {
                guard let name = RequestMembers.Name.named(bytes, member.name) else { continue }
                if name == .id {
                    // Read at once so a later syntax error can still echo it.
                    id = JSONInteger.int64(bytes, member.value)
                    if id == nil { idProblem = "\"id\" must be an integer from \(Int64.min) to \(Int64.max)" }
                }
                guard members.record(name, member.value) else {
                    return .failure(.badRequest(id: id, message: "member \"\(name.text)\" appears more than once"))
                }
            }
            try scanner.expectEndOfInput()
        } catch {
            return .failure(.badRequest(id: id, message: "invalid JSON: \(error)"))
        }
        if let idProblem { return .failure(.badRequest(id: nil, message: idProblem)) }
        return request(from: members, id: id, in: bytes)
    }

    private static func request(
        from members: RequestMembers, id: Int64?, in bytes: UnsafeRawBufferPointer
    ) -> Result<ClientRequest, ProtocolError> {
        guard let op = members.op else {
            return .failure(.badRequest(id: id, message: "missing member \"op\" (one of sub, unsub, pub, auth)"))
        }
        guard op.kind == .string else {
            return .failure(.badRequest(id: id, message: "\"op\" must be a string (one of sub, unsub, pub, auth)"))
        }
        let fields = RequestFields(bytes: bytes, id: id)
        do throws(ProtocolError) {
            if JSONEscapes.stringEquals(bytes, op, "pub") {
                let subject = try fields.subject(members.subject, member: "subject")
                guard let data = members.data else { throw fields.badRequest("missing member \"data\" (any JSON value)") }
                return .success(.pub(id: id, subject: subject, data: data.range))
            }
            if JSONEscapes.stringEquals(bytes, op, "sub") {
                let subjects = try fields.subjectList(members.subjects)
                let (since, cursors) = try fields.since(members.since)
                return .success(.sub(id: id, subjects: subjects, since: since, cursors: cursors))
            }
            if JSONEscapes.stringEquals(bytes, op, "unsub") {
                return .success(.unsub(id: id, subjects: try fields.subjectList(members.subjects)))
            }
            if JSONEscapes.stringEquals(bytes, op, "auth") {
                guard let token = members.token else { throw fields.badRequest("missing member \"token\" (a string)") }
                guard token.kind == .string else { throw fields.badRequest("\"token\" must be a string") }
                let text = JSONEscapes.decodeString(bytes, token)
                guard !text.isEmpty else { throw fields.badRequest("\"token\" must not be empty") }
                return .success(.auth(id: id, token: text))
            }
        } catch {
            return .failure(error)
        }
        let name = JSONEscapes.decodeString(bytes, op)
        let shown = name.utf8.count > 32 ? String(name.prefix(32)) + "..." : name
        return .failure(.badRequest(id: id, message: "unknown op \"\(shown)\"; expected one of sub, unsub, pub, auth"))
    }
}

/// Parses gateway -> client messages (for bots and the load generator) in one validating
/// scan; unknown members are ignored so newer gateways stay readable.
public enum ServerMessageParser {
    /// The message comes back as owned values and ranges of `bytes`: nothing borrowed outlives the call.
    public static func parse(_ bytes: RawSpan) -> Result<ServerMessage, MalformedServerMessage> {
        bytes.withUnsafeBytes { parse(buffer: $0) }
    }

    private static func parse(buffer bytes: UnsafeRawBufferPointer) -> Result<ServerMessage, MalformedServerMessage> {
        scan(bytes).flatMap { members in
            do throws(MalformedServerMessage) {
                return .success(try message(from: members, in: bytes))
            } catch {
                return .failure(error)
            }
        }
    }

    /// `parse` plus the members v1 added for cursors (PROTOCOL.md, "Cursors"): the `partition` of
    /// a msg or gap, the `positions` of an ok. A malformed one makes the message malformed.
    public static func parseWithCursor(_ bytes: RawSpan) -> Result<ServerMessageWithCursor, MalformedServerMessage> {
        bytes.withUnsafeBytes { parseWithCursor(buffer: $0) }
    }

    private static func parseWithCursor(buffer bytes: UnsafeRawBufferPointer) -> Result<ServerMessageWithCursor, MalformedServerMessage> {
        scan(bytes).flatMap { members in
            do throws(MalformedServerMessage) {
                let message = try message(from: members, in: bytes)
                switch message {
                case .msg, .gap:
                    return .success(ServerMessageWithCursor(message, partition: try partition(members.partition, in: bytes)))
                case .ok:
                    return .success(ServerMessageWithCursor(message, positions: try positions(members.positions, in: bytes)))
                case .err:
                    return .success(ServerMessageWithCursor(message))
                }
            } catch {
                return .failure(error)
            }
        }
    }

    private static func scan(_ bytes: UnsafeRawBufferPointer) -> Result<Members, MalformedServerMessage> {
        var members = Members()
        var scanner = JSONScanner(buffer: bytes)
        do throws(JSONSyntaxError) {
            guard try scanner.beginObject() else { return .failure(MalformedServerMessage("not a JSON object")) }
            while let member = try scanner.nextMember() {
                members.record(member, in: bytes)
            }
            try scanner.expectEndOfInput()
        } catch {
            return .failure(MalformedServerMessage("invalid JSON: \(error)"))
        }
        return .success(members)
    }

    private static func message(from members: Members, in bytes: UnsafeRawBufferPointer) throws(MalformedServerMessage) -> ServerMessage {
        guard let op = members.op, op.kind == .string else { throw MalformedServerMessage("missing string member \"op\"") }
        if op.isString("msg", in: bytes) {
            guard let subject = members.subject, subject.kind == .string else {
                throw MalformedServerMessage("msg without a string \"subject\"")
            }
            let seq = try integer(members.seq, "seq", in: bytes)
            guard let data = members.data else { throw MalformedServerMessage("msg without \"data\"") }
            return .msg(subject: subject, seq: seq, data: data.range, retained: try retained(members.retained, in: bytes))
        }
        let id = try members.id.map { span throws(MalformedServerMessage) in try integer(span, "id", in: bytes) }
        if op.isString("ok", in: bytes) {
            return .ok(id: id)
        }
        if op.isString("err", in: bytes) {
            guard let code = members.code?.string(in: bytes) else { throw MalformedServerMessage("err without a string \"code\"") }
            guard let message = members.message?.string(in: bytes) else {
                throw MalformedServerMessage("err without a string \"message\"")
            }
            return .err(id: id, code: code, message: message)
        }
        if op.isString("gap", in: bytes) {
            guard let subject = members.subject?.string(in: bytes) else {
                throw MalformedServerMessage("gap without a string \"subject\"")
            }
            return .gap(subject: subject, from: try integer(members.from, "from", in: bytes), to: try integer(members.to, "to", in: bytes))
        }
        throw MalformedServerMessage("unknown op \"\(op.string(in: bytes) ?? "")\"")
    }

    private static func integer(_ span: JSONValueSpan?, _ name: String, in bytes: UnsafeRawBufferPointer) throws(MalformedServerMessage) -> Int64 {
        guard let span, let value = JSONInteger.int64(bytes, span) else {
            throw MalformedServerMessage("\"\(name)\" must be an integer")
        }
        return value
    }

    private static func retained(_ span: JSONValueSpan?, in bytes: UnsafeRawBufferPointer) throws(MalformedServerMessage) -> Bool {
        guard let span else { return false }
        guard span.kind == .bool else { throw MalformedServerMessage("\"retained\" must be true or false") }
        return bytes[span.range.lowerBound] == UInt8(ascii: "t")
    }

    /// `partition`: absent (a subject with a key), or a partition number from 0 to Int32.max.
    private static func partition(_ span: JSONValueSpan?, in bytes: UnsafeRawBufferPointer) throws(MalformedServerMessage) -> Int32? {
        guard let span else { return nil }
        guard let value = JSONInteger.int64(bytes, span), let partition = Int32(exactly: value), partition >= 0 else {
            throw MalformedServerMessage("\"partition\" must be an integer from 0 to \(Int32.max)")
        }
        return partition
    }

    /// `positions`: subjects to objects of partition numbers (decimal strings) to offsets from -1.
    private static func positions(
        _ span: JSONValueSpan?, in bytes: UnsafeRawBufferPointer
    ) throws(MalformedServerMessage) -> [String: [Int32: Int64]] {
        guard let span else { return [:] }
        guard span.kind == .object else { throw MalformedServerMessage("\"positions\" must be an object of subjects") }
        var positions: [String: [Int32: Int64]] = [:]
        for subjectMember in members(of: span, in: bytes) {
            let subject = JSONEscapes.decodeString(bytes, subjectMember.name)
            guard subjectMember.value.kind == .object else {
                throw MalformedServerMessage("\"positions\" of \"\(subject)\" must be an object of partitions to offsets")
            }
            var offsets: [Int32: Int64] = [:]
            for member in members(of: subjectMember.value, in: bytes) {
                let name = JSONEscapes.decodeString(bytes, member.name)
                guard let partition = RequestFields.partitionNumber(name) else {
                    throw MalformedServerMessage("\"positions\" of \"\(subject)\": partition \"\(name.prefix(32))\" is not a partition number")
                }
                guard let offset = JSONInteger.int64(bytes, member.value), offset >= -1 else {
                    throw MalformedServerMessage("\"positions\" of \"\(subject)\": offset of partition \(partition) must be an integer from -1 to \(Int64.max)")
                }
                offsets[partition] = offset
            }
            positions[subject] = offsets
        }
        return positions
    }

    /// The members of an object the scan already validated.
    private static func members(of span: JSONValueSpan, in bytes: UnsafeRawBufferPointer) -> [JSONMember] {
        var members: [JSONMember] = []
        var scanner = JSONScanner(buffer: bytes, range: span.range)
        do throws(JSONSyntaxError) {
            _ = try scanner.beginObject()
            while let member = try scanner.nextMember() { members.append(member) }
        } catch {
            preconditionFailure("rescanning an already validated object failed: \(error)")
        }
        return members
    }

    /// The members a server message may carry; the last occurrence wins.
    private struct Members {
        var op, id, code, message, subject, seq, partition, data, retained, from, to, positions: JSONValueSpan?

        mutating func record(_ member: JSONMember, in bytes: UnsafeRawBufferPointer) {
            let name = member.name
            let value: JSONValueSpan? = member.value
            if JSONEscapes.stringEquals(bytes, name, "op") { op = value }
            else if JSONEscapes.stringEquals(bytes, name, "id") { id = value }
            else if JSONEscapes.stringEquals(bytes, name, "code") { code = value }
            else if JSONEscapes.stringEquals(bytes, name, "message") { message = value }
            else if JSONEscapes.stringEquals(bytes, name, "subject") { subject = value }
            else if JSONEscapes.stringEquals(bytes, name, "seq") { seq = value }
            else if JSONEscapes.stringEquals(bytes, name, "data") { data = value }
            else if JSONEscapes.stringEquals(bytes, name, "retained") { retained = value }
            else if JSONEscapes.stringEquals(bytes, name, "from") { from = value }
            else if JSONEscapes.stringEquals(bytes, name, "to") { to = value }
            else if JSONEscapes.stringEquals(bytes, name, "partition") { partition = value }
            else if JSONEscapes.stringEquals(bytes, name, "positions") { positions = value }
        }
    }
}

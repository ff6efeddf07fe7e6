/// The members of a request object that protocol v1 reads, found in one scan.
struct RequestMembers {
    enum Name {
        case op, id, subjects, subject, data, token, since

        var text: StaticString {
            switch self {
            case .op: return "op"
            case .id: return "id"
            case .subjects: return "subjects"
            case .subject: return "subject"
            case .data: return "data"
            case .token: return "token"
            case .since: return "since"
            }
        }

        /// The member a name span denotes, or nil for a member v1 ignores.
        static func named(_ bytes: UnsafeRawBufferPointer, _ span: JSONValueSpan) -> Name? {
            // Compared one by one: `allCases` would build an array per call.
            if JSONEscapes.stringEquals(bytes, span, "op") { return .op }
            if JSONEscapes.stringEquals(bytes, span, "id") { return .id }
            if JSONEscapes.stringEquals(bytes, span, "subjects") { return .subjects }
            if JSONEscapes.stringEquals(bytes, span, "subject") { return .subject }
            if JSONEscapes.stringEquals(bytes, span, "data") { return .data }
            if JSONEscapes.stringEquals(bytes, span, "token") { return .token }
            if JSONEscapes.stringEquals(bytes, span, "since") { return .since }
            return nil
        }
    }

    var op: JSONValueSpan?
    var id: JSONValueSpan?
    var subjects: JSONValueSpan?
    var subject: JSONValueSpan?
    var data: JSONValueSpan?
    var token: JSONValueSpan?
    var since: JSONValueSpan?

    /// Records a member; returns false when it was already present.
    mutating func record(_ name: Name, _ value: JSONValueSpan) -> Bool {
        switch name {
        case .op: return Self.store(value, in: &op)
        case .id: return Self.store(value, in: &id)
        case .subjects: return Self.store(value, in: &subjects)
        case .subject: return Self.store(value, in: &subject)
        case .data: return Self.store(value, in: &data)
        case .token: return Self.store(value, in: &token)
        case .since: return Self.store(value, in: &since)
        }
    }

    private static func store(_ value: JSONValueSpan, in slot: inout JSONValueSpan?) -> Bool {
        guard slot == nil else { return false }
        slot = value
        return true
    }
}

import StadiumProtocol

/// Topic `gettop` (a pub on `/gettop`): `{"user_id":"<user>"}`; the reply goes to `/top/<user_id>` (docs/QUIZ.md).
public struct GetTopRequest: Equatable, Sendable {
    public var userID: String

    public init(userID: String) { self.userID = userID }

    public func encoded() -> [UInt8] {
        var json: [UInt8] = []
        json.appendJSON { writer in
            writer.append("{\"user_id\":")
            writer.appendString(userID)
            writer.append(UInt8(ascii: "}"))
        }
        return json
    }

    /// Reads `range` of `bytes`; an empty `user_id` counts as missing.
    public init(json bytes: RawSpan, range: Range<Int>) throws(QuizRecordError) {
        var userID: String?
        self = try decodeRecord(bytes, range: range) { member in
            if member.name.names("user_id", in: bytes) { userID = member.value.string(in: bytes) }
        } build: { () throws(QuizRecordError) -> GetTopRequest in
            guard let userID, !userID.isEmpty else { throw .missingField("user_id") }
            return GetTopRequest(userID: userID)
        }
    }

    public init(json value: [UInt8]) throws(QuizRecordError) {
        self = try value.decodeRecord { (bytes, range) throws(QuizRecordError) in try GetTopRequest(json: bytes, range: range) }
    }
}

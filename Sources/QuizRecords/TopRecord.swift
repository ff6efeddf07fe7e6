import StadiumProtocol

/// Topic `top` (subject `/top/<user>`, key = user), one per gettop request:
/// `{"score":<the user's total>,"top":[{"name","score"}, ...]}`, best first (docs/QUIZ.md).
public struct TopRecord: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var score: Int64

        public init(name: String, score: Int64) { (self.name, self.score) = (name, score) }
    }

    public var score: Int64
    public var top: [Entry]

    public init(score: Int64, top: [Entry]) { (self.score, self.top) = (score, top) }

    public func encoded() -> [UInt8] {
        Self.encoded(score: score, encodedTop: Self.encodedTop(top.lazy.map { (Array($0.name.utf8), $0.score) }))
    }

    /// The value with a `top` list encoded before (`encodedTop`): the processors encode the
    /// list once per leaderboard change and answer every request with it.
    public static func encoded(score: Int64, encodedTop: [UInt8]) -> [UInt8] {
        var json: [UInt8] = []
        json.appendJSON { writer in
            writer.append("{\"score\":")
            writer.append(score)
            writer.append(",\"top\":")
            writer.append(encodedTop.span.bytes)
            writer.append(UInt8(ascii: "}"))
        }
        return json
    }

    /// `[{"name","score"}, ...]` from rows of (UTF-8 name, score), in the order given.
    public static func encodedTop<Rows: Sequence<([UInt8], Int64)>>(_ rows: Rows) -> [UInt8] {
        var json: [UInt8] = []
        json.appendJSON { writer in
            writer.append(UInt8(ascii: "["))
            for (position, row) in rows.enumerated() {
                writer.append(position > 0 ? ",{\"name\":" : "{\"name\":")
                writer.appendString(row.0.span.bytes)
                writer.append(",\"score\":")
                writer.append(row.1)
                writer.append(UInt8(ascii: "}"))
            }
            writer.append(UInt8(ascii: "]"))
        }
        return json
    }

    /// Reads `range` of `bytes`; other fields are ignored.
    public init(json bytes: RawSpan, range: Range<Int>) throws(QuizRecordError) {
        var score: Int64?
        var top: [Entry]?
        self = try decodeRecord(bytes, range: range) { member in
            if member.name.names("score", in: bytes) { score = member.value.int64(in: bytes) }
            else if member.name.names("top", in: bytes) { top = Self.entries(member.value, in: bytes) }
        } build: { () throws(QuizRecordError) -> TopRecord in
            TopRecord(score: try required(score, "score"), top: try required(top, "top"))
        }
    }

    public init(json value: [UInt8]) throws(QuizRecordError) {
        self = try value.decodeRecord { (bytes, range) throws(QuizRecordError) in try TopRecord(json: bytes, range: range) }
    }

    /// The rows of a `top` array; nil unless every element is `{"name": string, "score": integer}`.
    private static func entries(_ span: JSONValueSpan, in bytes: RawSpan) -> [Entry]? {
        var entries: [Entry] = []
        var allEntries = true
        let isArray = span.forEachElement(in: bytes) { element in
            var name: String?
            var score: Int64?
            let isObject = JSONScanner.forEachMember(of: bytes, range: element.range) { member in
                if member.name.names("name", in: bytes) { name = member.value.string(in: bytes) }
                else if member.name.names("score", in: bytes) { score = member.value.int64(in: bytes) }
            }
            guard isObject, let name, let score else { allEntries = false; return }
            entries.append(Entry(name: name, score: score))
        }
        return isArray && allEntries ? entries : nil
    }
}

/// Why an answer or get-top request was rejected.
public enum BadInputReason: String, Sendable, CaseIterable {
    /// The value is not a JSON object.
    case notJSON = "not_json"
    /// The record has no key (answers need the user as key).
    case missingKey = "missing_key"
    /// The key is not valid UTF-8.
    case invalidKey = "invalid_key"
    /// A required field (`question_id`, `answer`, `user_id`) is absent or of the wrong type.
    case missingField = "missing_field"
    /// `question_id` names neither the open question nor the previous one.
    case unknownQuestion = "unknown_question"
    /// `answer` is neither an index 0...3 nor the exact text of one of the answers.
    case invalidAnswer = "invalid_answer"
}

/// One rejected record, handed to the engine's reporter (rate limited).
public struct BadInputReport: Sendable, Equatable {
    public enum Source: String, Sendable { case answer, gettop }

    public let source: Source
    public let reason: BadInputReason
    /// The record value, truncated and made printable.
    public let excerpt: String
    /// Reports dropped by the rate limit since the previous report.
    public let suppressed: Int
}

/// Lets at most `perSecond` reports through per second of record time; counts the rest.
struct BadInputReportLimiter {
    let perSecond: Int
    private var windowSecond: Int64 = .min
    private var admittedInWindow = 0
    private var suppressed = 0

    init(perSecond: Int) {
        self.perSecond = perSecond
    }

    /// nil when the report must be dropped, else how many were dropped before it.
    mutating func admit(atMs nowMs: Int64) -> Int? {
        let second = nowMs / 1000
        if second != windowSecond {
            windowSecond = second
            admittedInWindow = 0
        }
        guard admittedInWindow < perSecond else {
            suppressed += 1
            return nil
        }
        admittedInWindow += 1
        defer { suppressed = 0 }
        return suppressed
    }

    static func excerpt(of value: [UInt8]) -> String {
        let limit = 120
        let printable = value.prefix(limit).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }
        return String(decoding: printable, as: UTF8.self) + (value.count > limit ? "..." : "")
    }
}
